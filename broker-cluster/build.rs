//! Compiles `proto/cluster.proto` with protox (pure Rust: no system `protoc`) and generates
//! the tonic client and server. Byte fields become `bytes::Bytes`: a forwarded payload is not
//! copied.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["proto/cluster.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .bytes(".")
        .compile_fds(descriptors)?;
    Ok(())
}
