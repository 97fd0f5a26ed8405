//! A validator for OCSF events against the vendored OCSF 1.3.0 schema in
//! `tests/fixtures/ocsf/schema-1.3.0` (see its README): the schema repository publishes classes,
//! objects and a dictionary, not a compiled JSON Schema, so this resolves them itself.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::repo_dir;

/// The vendored schema.
pub struct OcsfSchema {
    dir: PathBuf,
    /// `dictionary.json` `attributes`.
    dictionary: Map<String, Value>,
    /// `dictionary.json` `types.attributes`.
    types: Map<String, Value>,
    /// class_uid → class file.
    classes: BTreeMap<u64, PathBuf>,
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A class or object with its attributes merged through `extends` and `$include`.
struct Resolved {
    attributes: Map<String, Value>,
    constraints: Vec<Value>,
    category: Option<String>,
    uid: Option<u64>,
}

impl OcsfSchema {
    pub fn load() -> OcsfSchema {
        let dir = repo_dir().join("tests/fixtures/ocsf/schema-1.3.0");
        let dict = read(&dir.join("dictionary.json"));
        let categories = read(&dir.join("categories.json"));
        let mut schema = OcsfSchema {
            dictionary: dict["attributes"].as_object().unwrap().clone(),
            types: dict["types"]["attributes"].as_object().unwrap().clone(),
            classes: BTreeMap::new(),
            dir: dir.clone(),
        };
        let mut files = Vec::new();
        collect(&dir.join("events"), &mut files);
        for file in files {
            let class = schema.resolve_file(&file);
            let uid = match (&class.category, class.uid) {
                (Some(cat), Some(uid)) => {
                    categories["attributes"][cat]["uid"].as_u64().unwrap() * 1000 + uid
                }
                _ if file.ends_with("base_event.json") => 0,
                _ => continue, // an abstract parent class (iam, application, ...)
            };
            schema.classes.insert(uid, file);
        }
        schema
    }

    /// Resolves the event class or object in `file`, through `extends` (looked up by name in the
    /// same kind of files) and `$include`.
    fn resolve_file(&self, file: &Path) -> Resolved {
        let v = read(file);
        let mut r = match v["extends"].as_str() {
            Some(parent) => {
                let parent_file = if file.starts_with(self.dir.join("objects")) {
                    self.dir.join(format!("objects/{parent}.json"))
                } else {
                    self.event_file(parent)
                };
                self.resolve_file(&parent_file)
            }
            None => Resolved {
                attributes: Map::new(),
                constraints: Vec::new(),
                category: None,
                uid: None,
            },
        };
        if let Some(c) = v["category"].as_str() {
            r.category = Some(c.to_string());
        }
        r.uid = v["uid"].as_u64();
        if let Some(c) = v.get("constraints") {
            r.constraints = vec![c.clone()];
        }
        let attrs = v["attributes"].as_object().cloned().unwrap_or_default();
        if let Some(includes) = attrs.get("$include").and_then(Value::as_array) {
            for inc in includes {
                let inc = inc.as_str().unwrap();
                let included = read(&self.dir.join(inc));
                for (k, def) in included["attributes"].as_object().unwrap() {
                    let mut def = def.clone();
                    if inc.starts_with("profiles/") {
                        def["profile"] = Value::String(inc.to_string());
                    }
                    merge(&mut r.attributes, k, &def);
                }
            }
        }
        for (k, def) in &attrs {
            if k != "$include" {
                merge(&mut r.attributes, k, def);
            }
        }
        r
    }

    fn event_file(&self, name: &str) -> PathBuf {
        let mut files = Vec::new();
        collect(&self.dir.join("events"), &mut files);
        files
            .into_iter()
            .find(|f| read(f)["name"] == name)
            .unwrap_or_else(|| panic!("event class `{name}` is not vendored"))
    }

    /// Every way `event` breaks the schema; empty when it validates.
    pub fn validate(&self, event: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(class_uid) = event["class_uid"].as_u64() else {
            return vec!["class_uid: missing or not an integer".into()];
        };
        let Some(file) = self.classes.get(&class_uid) else {
            return vec![format!("class_uid: {class_uid} is not a vendored class")];
        };
        let class = self.resolve_file(file);
        let category_uid = class_uid / 1000;
        if event["category_uid"].as_u64() != Some(category_uid) {
            problems.push(format!("category_uid: expected {category_uid}"));
        }
        let activity = event["activity_id"].as_u64().unwrap_or(u64::MAX);
        if event["type_uid"].as_u64() != Some(class_uid * 100 + activity) {
            problems.push(format!(
                "type_uid: expected class_uid * 100 + activity_id = {}",
                class_uid * 100 + activity
            ));
        }
        self.check_object("", event, &class, &mut problems);
        problems
    }

    fn check_object(
        &self,
        path: &str,
        value: &Value,
        class: &Resolved,
        problems: &mut Vec<String>,
    ) {
        let Some(map) = value.as_object() else {
            problems.push(format!("{path}: not an object"));
            return;
        };
        for (k, def) in &class.attributes {
            if def["requirement"] == "required" && def["profile"].is_null() && !map.contains_key(k)
            {
                problems.push(format!("{path}{k}: required"));
            }
        }
        for c in &class.constraints {
            if let Some(any) = c["at_least_one"].as_array() {
                if !any.iter().any(|k| map.contains_key(k.as_str().unwrap())) {
                    let at = path.trim_end_matches('.');
                    problems.push(format!("{at}: needs at least one of {any:?}"));
                }
            }
            if let Some(one) = c["just_one"].as_array() {
                let n = one
                    .iter()
                    .filter(|k| map.contains_key(k.as_str().unwrap()))
                    .count();
                if n != 1 {
                    let at = path.trim_end_matches('.');
                    problems.push(format!("{at}: needs exactly one of {one:?}"));
                }
            }
        }
        for (k, v) in map {
            let at = format!("{path}{k}");
            let Some(def) = class.attributes.get(k) else {
                problems.push(format!("{at}: not an attribute here"));
                continue;
            };
            let dict = self.dictionary.get(k).cloned().unwrap_or(Value::Null);
            let ty = def["type"].as_str().or(dict["type"].as_str()).unwrap_or("");
            let is_array = def["is_array"]
                .as_bool()
                .or(dict["is_array"].as_bool())
                .unwrap_or(false);
            let enumeration = def.get("enum").or(dict.get("enum"));
            let items: Vec<&Value> = match (is_array, v.as_array()) {
                (true, Some(a)) => a.iter().collect(),
                (true, None) => {
                    problems.push(format!("{at}: must be an array"));
                    continue;
                }
                (false, Some(_)) => {
                    problems.push(format!("{at}: must not be an array"));
                    continue;
                }
                (false, None) => vec![v],
            };
            for (i, item) in items.into_iter().enumerate() {
                let at = if is_array {
                    format!("{at}[{i}]")
                } else {
                    at.clone()
                };
                self.check_value(&at, ty, item, problems);
                // The class's own uids are checked by `validate` (the schema server fills these
                // enums in per class; the files list only 0).
                let own = path.is_empty() && (k == "class_uid" || k == "category_uid");
                if let (Some(e), Some(n), false) = (enumeration, item.as_i64(), own) {
                    if e.get(n.to_string()).is_none() {
                        problems.push(format!("{at}: {n} is not in the attribute's enum"));
                    }
                }
            }
        }
    }

    fn check_value(&self, at: &str, ty: &str, v: &Value, problems: &mut Vec<String>) {
        let ok = match ty {
            "string_t" => v.is_string(),
            "integer_t" | "long_t" => v.is_i64() || v.is_u64(),
            "float_t" => v.is_number(),
            "boolean_t" => v.is_boolean(),
            "json_t" => true,
            "ip_t" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
            "port_t" => v.as_u64().is_some_and(|p| p <= 65535),
            "object" => v.is_object(),
            t if t.ends_with("_t") => match self.types.get(t).and_then(|d| d["type"].as_str()) {
                Some(base) => return self.check_value(at, base, v, problems),
                None => {
                    problems.push(format!("{at}: unknown type {t}"));
                    return;
                }
            },
            "" => {
                problems.push(format!("{at}: attribute has no type in the dictionary"));
                return;
            }
            object => {
                let file = self.dir.join(format!("objects/{object}.json"));
                assert!(file.exists(), "object `{object}` is not vendored");
                let resolved = self.resolve_file(&file);
                self.check_object(&format!("{at}."), v, &resolved, problems);
                return;
            }
        };
        if !ok {
            problems.push(format!("{at}: {v} is not a {ty}"));
        }
    }
}

/// Later definitions of an attribute override earlier ones key by key, as OCSF compiles them.
fn merge(into: &mut Map<String, Value>, key: &str, def: &Value) {
    let entry = into
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let (Some(e), Some(d)) = (entry.as_object_mut(), def.as_object()) {
        for (k, v) in d {
            match (
                k.as_str(),
                e.get_mut(k).and_then(Value::as_object_mut),
                v.as_object(),
            ) {
                // Enums add up: a class's activities join the include's Unknown and Other.
                ("enum", Some(old), Some(new)) => {
                    old.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())))
                }
                _ => {
                    e.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
