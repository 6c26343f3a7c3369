//! `coffer.example.toml` is the settings' documentation: it loads with the real loader, its
//! commented-out `[[sources]]` examples (database kinds included) load as sources, and it
//! mentions every key the loader knows — the keys of the config structs, read from their
//! `Deserialize` impls, and the keys each source kind takes, as the loader lists them.

use std::cell::RefCell;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Deserialize;

use super::{FileConfig, Settings, SourceConfig};

const EXAMPLE: &str = include_str!("../../coffer.example.toml");

/// Keys the loader reads only to refuse them with a better message than "unknown key".
const REFUSED: &[&str] = &["notify.email.password"];

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_example_loads_with_the_real_loader() {
    let settings = Settings::from_toml(EXAMPLE, "coffer.example.toml", &no_env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!settings.sources.is_empty());
}

/// The `# [[sources]]` blocks, uncommented: each must load as a source.
#[test]
fn the_commented_source_examples_load_and_cover_every_kind() {
    let mut kinds = Vec::new();
    for block in commented_source_blocks() {
        let source = SourceConfig::from_toml(&block)
            .unwrap_or_else(|e| panic!("example source does not load: {e}\n{block}"));
        kinds.push(source.kind());
    }
    for kind in ["sqlite", "postgres", "mysql", "redis"] {
        assert!(
            kinds.iter().any(|k| k.as_str() == kind),
            "no commented {kind} example: {kinds:?}"
        );
    }
}

#[test]
fn the_example_mentions_every_key_of_the_config_structs() {
    let keys = struct_keys::<FileConfig>();
    assert!(
        keys.contains(&"monitor.verify_deep_days".to_string()),
        "{keys:?}"
    );
    let mut missing = Vec::new();
    for key in &keys {
        // `storage.replicas.replicas`: the same key, nested where the loader refuses it.
        let parts: Vec<&str> = key.split('.').collect();
        let repeated = (1..parts.len()).any(|i| parts[..i].contains(&parts[i]));
        if REFUSED.contains(&key.as_str()) || key == "sources" || repeated {
            continue;
        }
        let leaf = key.rsplit('.').next().unwrap();
        let is_table = keys.iter().any(|k| k.starts_with(&format!("{key}.")));
        // A table of named tables (`[services.NAME]`) is shown by one of its entries.
        let named_tables = EXAMPLE.contains(&format!("[{key}."));
        let mentioned = named_tables
            || if is_table {
                EXAMPLE.contains(&format!("[{key}]")) || EXAMPLE.contains(&format!("[[{key}]]"))
            } else {
                EXAMPLE.contains(&format!("{leaf} ="))
            };
        if !mentioned {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "coffer.example.toml does not mention {missing:?}"
    );
    for event in super::EVENT_KINDS {
        assert!(EXAMPLE.contains(event), "the event {event} is not listed");
    }
}

#[test]
fn the_example_mentions_every_key_of_every_source_kind() {
    let minimal = [
        ("directory", "path = \"/x\""),
        ("file", "path = \"/x\""),
        ("sqlite", "path = \"/x\""),
        ("postgres", "url = \"postgres://u@h/db\""),
        ("mysql", "url = \"mysql://u@h/db\""),
        ("redis", "url = \"redis://h:6379/0\""),
    ];
    for (kind, reach) in minimal {
        // The loader refuses a key a kind does not take by listing the ones it takes.
        let text = format!("name = \"a\"\nkind = \"{kind}\"\n{reach}\nnot_a_key = 1");
        let refusal = SourceConfig::from_toml(&text).unwrap_err();
        let (_, taken) = refusal
            .split_once("source takes ")
            .unwrap_or_else(|| panic!("{refusal}"));
        for key in taken.split(", ") {
            assert!(
                EXAMPLE.contains(&format!("{key} =")),
                "coffer.example.toml does not mention `{key}` of a {kind} source"
            );
        }
    }
}

fn commented_source_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = EXAMPLE.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "# [[sources]]" {
            continue;
        }
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.starts_with("# "))
            .map(|l| &l[2..])
            .collect();
        blocks.push(block.join("\n"));
    }
    assert!(blocks.len() >= 4, "{blocks:?}");
    blocks
}

/// Every key path (`monitor.stall_minutes`, `storage.replicas.bucket`) `T` reads.
fn struct_keys<'de, T: Deserialize<'de>>() -> Vec<String> {
    let keys = RefCell::new(Vec::new());
    T::deserialize(Recorder {
        path: String::new(),
        keys: &keys,
    })
    .unwrap_or_else(|e| panic!("recording the keys: {e}"));
    keys.into_inner()
}

/// A deserializer that answers every struct with all of its fields (recording their paths)
/// and every value with a plausible one, so a derived `Deserialize` walks its whole shape.
struct Recorder<'a> {
    path: String,
    keys: &'a RefCell<Vec<String>>,
}

impl<'a> Recorder<'a> {
    fn at(&self, field: &str) -> Recorder<'a> {
        let path = if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.path)
        };
        Recorder {
            path,
            keys: self.keys,
        }
    }

    /// A list of tables nested in itself (`storage.replicas.replicas`) is walked once.
    fn repeats(&self) -> bool {
        let mut parts = self.path.split('.').collect::<Vec<_>>();
        let last = parts.pop();
        last.is_some_and(|last| parts.contains(&last))
    }
}

type Error = de::value::Error;

macro_rules! answer {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.$visit($value)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = Error;

    answer! {
        deserialize_any => visit_bool(false),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_u64(1),
        deserialize_i16 => visit_u64(1),
        deserialize_i32 => visit_u64(1),
        deserialize_i64 => visit_u64(1),
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_f32 => visit_f64(1.0),
        deserialize_f64 => visit_f64(1.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str("x"),
        deserialize_string => visit_str("x"),
        deserialize_identifier => visit_str("x"),
        deserialize_bytes => visit_bytes(b"x"),
        deserialize_byte_buf => visit_bytes(b"x"),
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let pending = !self.repeats();
        visitor.visit_seq(OneElement {
            recorder: pending.then_some(self),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// A free-form table (`[[sources]]`, read key by key elsewhere): empty.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(EmptyMap)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        for field in fields {
            self.keys.borrow_mut().push(self.at(field).path);
        }
        visitor.visit_map(Fields {
            recorder: self,
            fields: fields.iter(),
            current: "",
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(variants[0].into_deserializer())
    }
}

struct OneElement<'a> {
    recorder: Option<Recorder<'a>>,
}

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        self.recorder
            .take()
            .map(|r| seed.deserialize(r))
            .transpose()
    }
}

struct EmptyMap;

impl<'de> de::MapAccess<'de> for EmptyMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, Error> {
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, _: S) -> Result<S::Value, Error> {
        Err(de::Error::custom("an empty map has no values"))
    }
}

struct Fields<'a> {
    recorder: Recorder<'a>,
    fields: std::slice::Iter<'static, &'static str>,
    current: &'static str,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        self.current = *field;
        seed.deserialize(field.into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self.recorder.at(self.current))
    }
}
