//! The hook chain as the runtime holds it ([`runtime_hooks::RuntimeHooks`]).

pub(crate) mod runtime_hooks;
