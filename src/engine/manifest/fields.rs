//! Compact in-memory forms of manifest fields that keep their JSON form unchanged: a large
//! tree's manifest has one entry per file, so a few dozen bytes per entry are megabytes.
//!
//! - `Sha256Sum`: 32 bytes inline instead of a 64-character hex `String` on the heap.
//! - backup ids in `stored_in`: one shared `Arc<str>` per distinct id while a manifest's
//!   `files` are read, instead of one `String` per entry.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A SHA-256 digest; in JSON the 64 lowercase hex digits Coffer has always written.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Sum(pub [u8; 32]);

impl Sha256Sum {
    /// The digest a finished hasher computed.
    pub fn of(hasher: sha2::Sha256) -> Sha256Sum {
        use sha2::Digest;
        Sha256Sum(hasher.finalize().into())
    }
}

impl fmt::Display for Sha256Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Sha256Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Sum({self})")
    }
}

impl Serialize for Sha256Sum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256Sum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Sha256Visitor)
    }
}

struct Sha256Visitor;

impl Visitor<'_> for Sha256Visitor {
    type Value = Sha256Sum;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SHA-256 as 64 hex digits")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Sha256Sum, E> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))?;
        Ok(Sha256Sum(bytes))
    }
}

thread_local! {
    /// The distinct backup ids met so far while one manifest's `files` are read (`None`
    /// outside of that). A chain has a handful of archives, so a list is the right size.
    static HOLDERS: RefCell<Option<Vec<Arc<str>>>> = const { RefCell::new(None) };
}

/// While alive, `stored_in` ids read on this thread share one allocation per distinct id.
pub struct SharedHolders {
    outer: Option<Vec<Arc<str>>>,
}

impl SharedHolders {
    pub fn start() -> SharedHolders {
        let outer = HOLDERS.with(|h| h.borrow_mut().replace(Vec::new()));
        SharedHolders { outer }
    }
}

impl Drop for SharedHolders {
    fn drop(&mut self) {
        let outer = self.outer.take();
        HOLDERS.with(|h| *h.borrow_mut() = outer);
    }
}

/// The shared copy of `id` (a new one when it was not met yet or no sharing is going on).
fn shared_id(id: &str) -> Arc<str> {
    HOLDERS.with(|h| match h.borrow_mut().as_mut() {
        Some(known) => match known.iter().find(|k| &***k == id) {
            Some(k) => Arc::clone(k),
            None => {
                let k: Arc<str> = Arc::from(id);
                known.push(Arc::clone(&k));
                k
            }
        },
        None => Arc::from(id),
    })
}

/// `deserialize_with` for `stored_in`: an optional backup id, shared.
pub fn deserialize_holder<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Arc<str>>, D::Error> {
    Ok(Option::<HolderId>::deserialize(deserializer)?.map(|h| h.0))
}

struct HolderId(Arc<str>);

impl<'de> Deserialize<'de> for HolderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(HolderVisitor)
    }
}

struct HolderVisitor;

impl Visitor<'_> for HolderVisitor {
    type Value = HolderId;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a backup id")
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<HolderId, E> {
        Ok(HolderId(shared_id(id)))
    }
}
