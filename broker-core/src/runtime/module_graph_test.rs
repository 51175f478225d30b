//! The runtime's modules import one way: this test reads their sources, collects each
//! module's references to the other runtime modules (`super::x`, `super::super::x`,
//! `crate::runtime::x`, grouped imports included) and fails, printing the cycle, if the
//! graph has one.
//!
//! The folders (and top-level files) import one way too: the same references, each module
//! standing for its top-level folder, must form no cycle either.
//!
//! A module is a file: `runtime/a.rs` is `a`, `runtime/a/b.rs` is `a::b`, `runtime/a/mod.rs`
//! is `a`. A reference names the longest module its path begins with. Comments and the
//! inline test modules at the end of files (`mod tests {`) are not read; neither are the
//! `*_test.rs` files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (segments below `runtime`) -> the modules it refers to.
type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Every `.rs` file under `dir`, recursively, in a stable order.
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module path of `file` below `root`: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let mut segments: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = segments.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" {
            segments.push(stem.to_owned());
        }
    }
    segments
}

/// The code of a file: comments dropped, and nothing from its inline test module on.
fn code_of(source: &str) -> String {
    let mut code = String::new();
    for line in source.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("mod tests") && trimmed.ends_with('{') {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let line = match line.find("//") {
            // A trailing comment (a `//` inside a string literal is cut too: harmless here).
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths that start at `text` (just after a `prefix::`): `a::b::C` gives `[a, b, C]`;
/// `{a, b::c}` gives `[a]` and `[b, c]`; `a::{b, c}` gives `[a, b]` and `[a, c]`.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('{') {
        let mut depth = 1;
        let mut end = rest.len();
        for (at, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = at;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &rest[..end];
        // Split at top-level commas.
        let mut items = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (at, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..at]);
                    start = at + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        return items
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .flat_map(paths_at)
            .collect();
    }
    let name: String = text.chars().take_while(|&c| is_ident(c)).collect();
    if name.is_empty() {
        return vec![Vec::new()];
    }
    let rest = &text[name.len()..];
    match rest.strip_prefix("::") {
        Some(rest) => paths_at(rest)
            .into_iter()
            .map(|mut tail| {
                tail.insert(0, name.clone());
                tail
            })
            .collect(),
        None => vec![vec![name]],
    }
}

/// The runtime modules `code` (of module `module`) refers to.
fn references(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let mut resolve = |mut path: Vec<String>| {
        while !path.is_empty() {
            if modules.contains(&path) {
                if path != module {
                    found.insert(path);
                }
                return;
            }
            path.pop();
        }
    };
    for (at, _) in code.match_indices("crate::runtime::") {
        let preceded = code[..at].chars().next_back().is_some_and(is_ident);
        if !preceded {
            paths_at(&code[at + "crate::runtime::".len()..])
                .into_iter()
                .for_each(&mut resolve);
        }
    }
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == ':');
        let mut after = &rest[at + "super::".len()..];
        if !preceded {
            // `super` is the parent of this module; each further `super::` one more up.
            let mut base: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
            while let Some(next) = after.strip_prefix("super::") {
                base.pop();
                after = next;
            }
            for tail in paths_at(after) {
                let mut path = base.clone();
                path.extend(tail);
                resolve(path);
            }
        }
        rest = after;
    }
    found
}

/// The module graph of the sources under `root`, each given as (file path, text).
fn graph_of(root: &Path, sources: &[(PathBuf, String)]) -> Graph {
    let modules: BTreeSet<Vec<String>> = sources
        .iter()
        .map(|(file, _)| module_of(root, file))
        .filter(|module| !module.is_empty())
        .collect();
    let mut graph = Graph::new();
    for (file, text) in sources {
        let module = module_of(root, file);
        if module.is_empty() {
            continue;
        }
        let edges = references(&module, &code_of(text), &modules);
        graph.entry(module).or_default().extend(edges);
    }
    graph
}

/// A cycle of `graph`, as the modules along it (the first repeated at the end), if any.
fn find_cycle(graph: &Graph) -> Option<Vec<Vec<String>>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        graph: &Graph,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// `graph` with each module standing for its top-level folder (or file); references inside
/// one folder are left out.
fn folder_graph(graph: &Graph) -> Graph {
    let mut folders = Graph::new();
    for (module, edges) in graph {
        let from = module[..1].to_vec();
        let entry = folders.entry(from.clone()).or_default();
        entry.extend(
            edges
                .iter()
                .map(|to| to[..1].to_vec())
                .filter(|to| *to != from),
        );
    }
    folders
}

fn show(cycle: &[Vec<String>]) -> String {
    cycle
        .iter()
        .map(|module| module.join("::"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[test]
fn the_runtime_modules_import_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runtime");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter(|file| !file.to_string_lossy().ends_with("_test.rs"))
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
            (file, text)
        })
        .collect();
    let graph = graph_of(&root, &sources);
    // The scan sees the runtime: many modules, and references between them.
    assert!(
        graph.len() >= 20,
        "only {} runtime modules found",
        graph.len()
    );
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges >= graph.len(), "only {edges} references found");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("the runtime's modules import in a cycle: {}", show(&cycle));
    }
    let folders = folder_graph(&graph);
    assert!(
        folders.len() >= 10,
        "only {} runtime folders found",
        folders.len()
    );
    if let Some(cycle) = find_cycle(&folders) {
        panic!("the runtime's folders import in a cycle: {}", show(&cycle));
    }
}

#[test]
fn the_scan_finds_a_cycle_between_folders() {
    let root = Path::new("runtime");
    let file = |path: &str, text: &str| (root.join(path), text.to_owned());
    let sources = vec![
        file("x/mod.rs", "pub(crate) mod a;\npub(crate) mod d;\n"),
        file("x/a.rs", "use crate::runtime::y::b::B;\n"),
        file("x/d.rs", "pub(crate) struct D;\n"),
        file("y/mod.rs", "pub(crate) mod b;\npub(crate) mod c;\n"),
        file("y/b.rs", "pub(crate) struct B;\n"),
        file("y/c.rs", "use super::super::x::d::D;\n"),
    ];
    let graph = graph_of(root, &sources);
    assert_eq!(find_cycle(&graph), None, "no cycle between modules");
    let cycle = find_cycle(&folder_graph(&graph)).map(|cycle| show(&cycle));
    assert_eq!(cycle.as_deref(), Some("x -> y -> x"));
}

#[test]
fn the_scan_finds_a_cycle_through_folders_and_grouped_imports() {
    let root = Path::new("runtime");
    let file = |path: &str, text: &str| (root.join(path), text.to_owned());
    let sources = vec![
        file("mod.rs", "pub(crate) mod a;\npub(crate) mod b;\n"),
        file("a.rs", "use super::{b::Thing, c};\n// use super::d;\n"),
        file("b/mod.rs", "pub(crate) mod inner;\n"),
        file("b/inner.rs", "fn f() { super::super::d::go(); }\n"),
        file(
            "c.rs",
            "mod tests {\n use super::*;\n use crate::runtime::a;\n}\n",
        ),
        file(
            "d.rs",
            "use crate::runtime::b::inner::X;\nfn g() { super::a::h() }\n",
        ),
    ];
    let graph = graph_of(root, &sources);
    let key = |path: &str| path.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(graph[&key("a")], [key("b"), key("c")].into_iter().collect());
    assert_eq!(graph[&key("b::inner")], [key("d")].into_iter().collect());
    assert!(graph[&key("c")].is_empty());
    let cycle = find_cycle(&graph).map(|cycle| show(&cycle));
    assert_eq!(
        cycle.as_deref(),
        Some("b::inner -> d -> b::inner"),
        "{cycle:?}"
    );
}
