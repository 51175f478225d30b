//! The per-client trace switch: every packet of a traced client identifier is logged at info
//! level (the per-packet lines are otherwise at debug), so an operator can follow one client
//! in production without turning debug on for all of them.
//!
//! Checking costs one relaxed load per packet while no client is traced.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::types::ClientId;

/// The client identifiers whose packets are logged at info level.
#[derive(Debug, Default)]
pub(crate) struct ClientTrace {
    /// Whether `ids` is not empty.
    any: AtomicBool,
    ids: RwLock<HashSet<ClientId>>,
}

impl ClientTrace {
    /// Turns tracing of `client_id` on or off.
    pub(crate) fn set(&self, client_id: &ClientId, on: bool) {
        let mut ids = self.ids.write().unwrap_or_else(PoisonError::into_inner);
        if on {
            ids.insert(client_id.clone());
        } else {
            ids.remove(client_id);
        }
        self.any.store(!ids.is_empty(), Ordering::Relaxed);
    }

    /// Whether `client_id` is traced.
    pub(crate) fn is_traced(&self, client_id: Option<&ClientId>) -> bool {
        let Some(client_id) = client_id else {
            return false;
        };
        self.any.load(Ordering::Relaxed)
            && self
                .ids
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_only_the_clients_switched_on() {
        let trace = ClientTrace::default();
        let a = ClientId::new("a").unwrap();
        let b = ClientId::new("b").unwrap();
        assert!(!trace.is_traced(Some(&a)));
        trace.set(&a, true);
        assert!(trace.is_traced(Some(&a)));
        assert!(!trace.is_traced(Some(&b)));
        assert!(!trace.is_traced(None));
        trace.set(&a, false);
        assert!(!trace.is_traced(Some(&a)));
    }
}
