//! The crate's architecture, checked on its source text (issue 11): the top-level modules form a
//! DAG that follows the layers below, `parse` depends on `event` alone, and no function or file
//! grows past the size a reader can hold in their head.
//!
//! The checks read `src/**/*.rs` with a small scanner, not a compiler: comments, string and
//! character literals are blanked first (so braces and `crate::` inside them do not count), then
//! test-only code is blanked (`#[cfg(test)]` items and the files of `#[cfg(test)] mod x;`).
//! Known limits: a `super::` path inside an inline non-test `mod { … }` block is resolved as if it
//! were at the file's level; `#[cfg(any(test, …))]` is not treated as test code; a function's
//! length is the span of lines from its `fn` keyword to its closing brace (doc comments and
//! attributes above it do not count, comments and blank lines inside it do).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo_dir;

/// The layers of the crate, lowest first (issue 11: main/cli → app → sources → pipeline → parse
/// → event; pipeline → metrics, otel; export). A module may use any module of a LOWER layer and,
/// within its own layer, only the pairs in [`SAME_LAYER`]. `main` is the binary (`src/main.rs`,
/// which reaches the library as `kafka_security_exporter::…`). A new top-level module must be
/// placed here before the suite passes: deciding where it belongs is the point.
const LAYERS: &[&[&str]] = &[
    // Foundations any layer may use: the event model, the clock, the file tailer (bytes and offsets only),
    // secrets read from files or the environment (never logged), build facts, shutdown
    // plumbing, logging and rate-limited warnings.
    &[
        "build_info",
        "clock",
        "event",
        "secret",
        "shutdown",
        "tail",
        "telemetry",
    ],
    // Bytes to events. Depends on `event` (and itself) only: checked on its own below.
    &["parse"],
    // Pseudonyms put in the place of people in events (and of the principal a parse error names).
    &["privacy"],
    // Stateful detectors on event time: events in, detections out.
    &["detect"],
    // What the exporter records about events.
    &["metrics"],
    // OTLP output of metrics and traces; the normalized event topic (events and detections to
    // Kafka as OCSF or ECS); readiness and liveness state.
    &["otel", "output", "health"],
    // The state snapshot: metric values and source positions saved together, restored at start.
    &["state"],
    // Orchestration of one record (parse, record, trace); the HTTP server.
    &["pipeline", "export"],
    // Inputs: Kafka topics and tailed files, each feeding the pipeline.
    &["sources"],
    // The config file (assembling every source's and output's config).
    &["config"],
    // Wiring and ordered shutdown of a run; the replay subcommand (files through the pipeline
    // once, with the `metrics:` and `parsers:` of a config file).
    &["app", "replay"],
    // The embedded demo (runs the app against a mock cluster).
    &["demo"],
    // The command line.
    &["cli"],
    // The binary.
    &["main"],
];

/// Edges allowed between two modules of the same layer: none today.
const SAME_LAYER: &[(&str, &str)] = &[];

const MAX_FN_LINES: usize = 120;
const MAX_FILE_LINES: usize = 900;

/// One source file, blanked.
struct SrcFile {
    /// Relative to the repository, for messages (`src/parse/log4j.rs`).
    display: String,
    /// Module path inside the crate (`["parse", "log4j"]`); `["main"]` for the binary.
    module: Vec<String>,
    /// The text with comments and literals blanked, and test code blanked too.
    code: String,
    /// Lines of the file that are not test code.
    non_test_lines: usize,
}

impl SrcFile {
    fn top(&self) -> &str {
        &self.module[0]
    }
}

/// Every `.rs` file under `src/` (except `lib.rs`, which only declares the modules), blanked.
fn source_files() -> Vec<SrcFile> {
    let src = repo_dir().join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut pending = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(&src).unwrap();
        if rel == Path::new("lib.rs") {
            continue;
        }
        let module = module_path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        let masked = mask_comments_and_literals(&text);
        let (code, test_lines, test_mods) = blank_test_items(&masked);
        for m in test_mods {
            let mut child = module.clone();
            child.push(m);
            test_only.insert(child);
        }
        let total = text.lines().count();
        pending.push(SrcFile {
            display: format!("src/{}", rel.display()),
            module,
            code,
            non_test_lines: total - test_lines,
        });
    }
    for f in pending {
        // A file whose module (or an ancestor) is declared `#[cfg(test)] mod x;` is test code.
        let is_test = (1..=f.module.len()).any(|n| test_only.contains(&f.module[..n]));
        if !is_test {
            files.push(f);
        }
    }
    files
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `parse/log4j.rs` → `["parse", "log4j"]`; `parse/mod.rs` → `["parse"]`; `main.rs` → `["main"]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The text with every comment (line, block, nested block, doc) and every string, byte string,
/// raw string and character literal replaced by spaces; newlines are kept, so line numbers hold.
/// Lifetimes (`'a`) are left alone.
fn mask_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for x in out.iter_mut().take(to.min(c.len())).skip(from) {
            if *x != '\n' {
                *x = ' ';
            }
        }
    };
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            blank(&mut out, i, end);
            i = end;
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < c.len() && depth > 0 {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if !prev_ident && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) {
            // A raw string `r#"…"#` / `br"…"`, or an identifier starting with r/br.
            let start = i;
            let mut j = if c[i] == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            blank(&mut out, start, j);
            i = j;
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{…}', b'{'), or a lifetime or label ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                blank(&mut out, i, i + 3);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// The index just past the item starting at `from`: through its matching `}` if a `{` comes
/// before any `;` (outside parentheses and brackets), else through the `;`.
fn item_end(c: &[char], from: usize) -> usize {
    let mut depth = 0i32;
    let mut j = from;
    while j < c.len() {
        match c[j] {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ';' if depth == 0 => return j + 1,
            '{' if depth == 0 => return matching_brace(c, j) + 1,
            _ => {}
        }
        j += 1;
    }
    c.len()
}

/// The index of the `}` matching the `{` at `open` (in blanked text, so braces are code).
fn matching_brace(c: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (j, &ch) in c.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    c.len() - 1
}

/// Blanks every `#[cfg(test)]` item of the (already masked) text. Returns the text, how many
/// lines the blanked items covered, and the names of `#[cfg(test)] mod x;` declarations.
fn blank_test_items(masked: &str) -> (String, usize, Vec<String>) {
    let mut c: Vec<char> = masked.chars().collect();
    let attr: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut test_lines = 0;
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i + attr.len() <= c.len() {
        if c[i..i + attr.len()] != attr[..] {
            i += 1;
            continue;
        }
        let end = item_end(&c, i + attr.len());
        let item: String = c[i + attr.len()..end].iter().collect();
        let words: Vec<&str> = item
            .split(|ch: char| !is_ident(ch))
            .filter(|w| !w.is_empty())
            .collect();
        if item.trim_end().ends_with(';') {
            if let Some(pos) = words.iter().position(|w| *w == "mod") {
                test_mods.push(words[pos + 1].to_string());
            }
        }
        // Lines entirely inside the item (its first line may hold code before the attribute).
        let first_line_start = c[..i]
            .iter()
            .rposition(|&ch| ch == '\n')
            .map_or(0, |p| p + 1);
        let only_item_on_line = c[first_line_start..i].iter().all(|ch| ch.is_whitespace());
        let newlines = c[i..end].iter().filter(|&&ch| ch == '\n').count();
        test_lines += newlines + usize::from(only_item_on_line);
        for x in c.iter_mut().take(end).skip(i) {
            if *x != '\n' {
                *x = ' ';
            }
        }
        i = end;
    }
    (c.into_iter().collect(), test_lines, test_mods)
}

/// Skips whitespace from `i`.
fn skip_ws(c: &[char], mut i: usize) -> usize {
    while i < c.len() && c[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The identifier at `i` (after whitespace), and the index after it.
fn ident_at(c: &[char], i: usize) -> (String, usize) {
    let i = skip_ws(c, i);
    let mut j = i;
    while j < c.len() && is_ident(c[j]) {
        j += 1;
    }
    (c[i..j].iter().collect(), j)
}

/// Whether `word` followed by `::` starts at `i` as a whole path segment.
fn path_start(c: &[char], i: usize, word: &str) -> Option<usize> {
    let w: Vec<char> = word.chars().collect();
    if i + w.len() + 2 > c.len() || c[i..i + w.len()] != w[..] {
        return None;
    }
    if i > 0 && (is_ident(c[i - 1]) || c[i - 1] == ':') && !(word == "crate" && c[i - 1] == '$') {
        return None;
    }
    let j = skip_ws(c, i + w.len());
    (c.get(j) == Some(&':') && c.get(j + 1) == Some(&':')).then_some(j + 2)
}

/// The first segments named at `i`: one identifier, or each element of a `{a, b::c, …}` group.
fn first_segments(c: &[char], i: usize) -> Vec<String> {
    let i = skip_ws(c, i);
    if c.get(i) != Some(&'{') {
        return vec![ident_at(c, i).0];
    }
    let mut out = Vec::new();
    let (mut depth, mut j, mut at_element_start) = (0, i, true);
    while j < c.len() {
        match c[j] {
            '{' => {
                depth += 1;
                at_element_start = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => at_element_start = true,
            ch if at_element_start && depth == 1 && is_ident(ch) => {
                let (name, next) = ident_at(c, j);
                out.push(name);
                at_element_start = false;
                j = next;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    out
}

/// Top-level modules this file's non-test code names, with the line of each reference.
fn references(f: &SrcFile) -> Vec<(String, usize)> {
    let c: Vec<char> = f.code.chars().collect();
    let line_of = |i: usize| c[..i].iter().filter(|&&ch| ch == '\n').count() + 1;
    let root = if f.top() == "main" {
        "kafka_security_exporter"
    } else {
        "crate"
    };
    let mut out = Vec::new();
    for i in 0..c.len() {
        if let Some(next) = path_start(&c, i, root) {
            for m in first_segments(&c, next) {
                out.push((m, line_of(i)));
            }
        } else if let Some(mut next) = path_start(&c, i, "super") {
            // `super::` climbs from the file's module; past the root it names a top module.
            let mut level = f.module.len() - 1;
            loop {
                if level == 0 {
                    for m in first_segments(&c, next) {
                        out.push((m, line_of(i)));
                    }
                    break;
                }
                match path_start(&c, skip_ws(&c, next), "super") {
                    Some(n) => {
                        next = n;
                        level -= 1;
                    }
                    None => break,
                }
            }
        }
    }
    out.retain(|(m, _)| !m.is_empty() && m != "self" && m != "super" && m != f.top());
    out
}

/// (from, to) → the places that make the edge.
fn module_edges(files: &[SrcFile]) -> BTreeMap<(String, String), Vec<String>> {
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in files {
        for (to, line) in references(f) {
            let at = edges.entry((f.top().to_string(), to)).or_default();
            let place = format!("{}:{line}", f.display);
            if !at.contains(&place) {
                at.push(place);
            }
        }
    }
    edges
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// A cycle through `graph`, if any, as `a → b → … → a`.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn describe(edges: &[(&(String, String), &Vec<String>)]) -> String {
    edges
        .iter()
        .map(|((from, to), at)| format!("  {from} → {to}  ({})", at.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let edges = module_edges(&source_files());
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from.clone()).or_default().insert(to.clone());
    }
    let Some(cycle) = find_cycle(&graph) else {
        return;
    };
    // Every edge on some cycle (its target reaches its source), so all of them show at once.
    let reaches = |from: &str, to: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.to_string()]);
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.extend(graph.get(&n).into_iter().flatten().cloned());
            }
        }
        false
    };
    let on_cycles: Vec<_> = edges
        .iter()
        .filter(|((from, to), _)| reaches(to, from))
        .collect();
    panic!(
        "module cycle {}; every edge on a cycle:\n{}",
        cycle.join(" → "),
        describe(&on_cycles)
    );
}

#[test]
fn parse_depends_on_event_alone() {
    let edges = module_edges(&source_files());
    let bad: Vec<_> = edges
        .iter()
        .filter(|((from, to), _)| from == "parse" && to != "event" && to != "clock")
        .collect();
    assert!(
        bad.is_empty(),
        "src/parse/ may use crate::event, crate::clock and crate::parse only:\n{}",
        describe(&bad)
    );
}

#[test]
fn module_edges_follow_the_layers() {
    // The table itself is a DAG by construction (lower layers only, and no same-layer pairs in
    // both directions); a module missing from it is an error, not a free pass.
    for (a, b) in SAME_LAYER {
        assert!(!SAME_LAYER.contains(&(*b, *a)), "SAME_LAYER has {a} ↔ {b}");
        assert_eq!(
            layer_of(a),
            layer_of(b),
            "SAME_LAYER {a} → {b}: not one layer"
        );
    }
    let files = source_files();
    let modules: BTreeSet<String> = files.iter().map(|f| f.top().to_string()).collect();
    let unplaced: Vec<_> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS in tests/it/architecture.rs: {unplaced:?}"
    );
    let edges = module_edges(&files);
    // A name that is no module (an item at the crate root) is not an edge.
    let bad: Vec<_> = edges
        .iter()
        .filter(|((_, to), _)| modules.contains(to.as_str()))
        .filter(|((from, to), _)| {
            let (f, t) = (layer_of(from).unwrap(), layer_of(to).unwrap());
            t > f || (t == f && !SAME_LAYER.contains(&(from.as_str(), to.as_str())))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "edges against the layering (a module may use lower layers only):\n{}",
        describe(&bad)
    );
}

/// Every non-test `fn` with its first line and its length in lines.
fn functions(f: &SrcFile) -> Vec<(String, usize, usize)> {
    let c: Vec<char> = f.code.chars().collect();
    let line_of = |i: usize| c[..i].iter().filter(|&&ch| ch == '\n').count() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < c.len() {
        let is_fn = c[i] == 'f'
            && c[i + 1] == 'n'
            && c[i + 2].is_whitespace()
            && (i == 0 || !is_ident(c[i - 1]));
        if !is_fn {
            i += 1;
            continue;
        }
        let (name, after) = ident_at(&c, i + 2);
        if name.is_empty() {
            // A function pointer type, `fn(u8) -> u8`.
            i += 2;
            continue;
        }
        // The body is the first `{` outside parentheses/brackets before any `;`.
        let mut depth = 0i32;
        let mut j = after;
        let mut body = None;
        while j < c.len() {
            match c[j] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    body = Some(j);
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        if let Some(open) = body {
            let close = matching_brace(&c, open);
            let (first, last) = (line_of(i), line_of(close));
            out.push((name, first, last - first + 1));
        }
        i = after;
    }
    out
}

#[test]
fn no_function_is_longer_than_120_lines() {
    let mut long = Vec::new();
    for f in source_files() {
        for (name, line, len) in functions(&f) {
            if len > MAX_FN_LINES {
                long.push(format!("  {}:{line} fn {name}: {len} lines", f.display));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (non-test code):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_file_has_more_than_900_lines_of_non_test_code() {
    let long: Vec<String> = source_files()
        .iter()
        .filter(|f| f.non_test_lines > MAX_FILE_LINES)
        .map(|f| format!("  {}: {} lines", f.display, f.non_test_lines))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines of non-test code:\n{}",
        long.join("\n")
    );
}

/// The scanner itself, on inputs that would fool a naive one.
#[test]
fn the_scanner_sees_code_only() {
    let text = r##"
use crate::{event::SecurityEvent, parse::{self, Record}};
// use crate::cli;
/* use crate::config; /* nested */ */
const A: &str = "crate::otel::x { {";
const B: &str = r#"crate::metrics "}"#;
const C: char = '{';
fn long<'a>(x: &'a str) -> &'a str {
    let _ = super::pipeline::run;
    x
}
fn ptr(f: fn(u8) -> u8) {}
#[cfg(test)]
mod tests {
    use crate::demo;
    fn huge() {}
}
"##;
    let masked = mask_comments_and_literals(text);
    let (code, test_lines, _) = blank_test_items(&masked);
    assert_eq!(code.lines().count(), text.lines().count());
    assert_eq!(test_lines, 5);
    let f = SrcFile {
        display: "src/x.rs".into(),
        module: vec!["x".into()],
        code,
        non_test_lines: 0,
    };
    let names: BTreeSet<String> = references(&f).into_iter().map(|(m, _)| m).collect();
    let want: BTreeSet<String> = ["event", "parse", "pipeline"].map(String::from).into();
    assert_eq!(names, want);
    let fns: Vec<(String, usize)> = functions(&f)
        .into_iter()
        .map(|(n, _, len)| (n, len))
        .collect();
    assert_eq!(fns, [("long".to_string(), 4), ("ptr".to_string(), 1)]);
}
