//! Topic alias maps of one network connection (MQTT 5.0 §3.3.2.3.4), one per direction.
//!
//! The two directions are independent (a client's alias 1 and the server's alias 1 name
//! different topics) and neither outlives its connection ([MQTT-3.3.2-7]): create both
//! afresh for every connection, including one that resumes a session.

use std::collections::{BTreeMap, HashMap};

use super::message::detach_topic;
use crate::codec::Publish;
use crate::types::{ReasonCode, TopicAlias, TopicName};

/// A PUBLISH from the client uses a topic alias wrongly. The server disconnects with
/// [`reason_code`](Self::reason_code). (A Topic Alias of 0 never gets here: the codec rejects
/// it while decoding, [MQTT-3.3.2-8].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    /// The alias is above the Topic Alias Maximum the server sent in CONNACK
    /// ([MQTT-3.3.2-9]): 0x94 Topic Alias invalid.
    #[error("topic alias {alias} is above the maximum {maximum} [MQTT-3.3.2-9]")]
    AboveMaximum {
        /// The alias received.
        alias: u16,
        /// The server's Topic Alias Maximum.
        maximum: u16,
    },
    /// The PUBLISH has an empty topic name and an alias with no mapping on this connection
    /// (MQTT 5.0 §3.3.4): 0x82 Protocol Error.
    #[error("topic alias {0} has no mapping on this connection")]
    Unmapped(u16),
    /// The PUBLISH has neither a topic name nor a topic alias (MQTT 5.0 §3.3.2.1):
    /// 0x82 Protocol Error.
    #[error("the PUBLISH has neither a topic name nor a topic alias")]
    MissingTopic,
}

impl AliasError {
    /// The DISCONNECT reason code the server answers with.
    #[must_use]
    pub fn reason_code(self) -> ReasonCode {
        match self {
            AliasError::AboveMaximum { .. } => ReasonCode::TopicAliasInvalid,
            AliasError::Unmapped(_) | AliasError::MissingTopic => ReasonCode::ProtocolError,
        }
    }

    /// The normative statement broken, when it has an id.
    #[must_use]
    pub fn statement(self) -> Option<&'static str> {
        match self {
            AliasError::AboveMaximum { .. } => Some("MQTT-3.3.2-9"),
            AliasError::Unmapped(_) | AliasError::MissingTopic => None,
        }
    }
}

/// How an outgoing PUBLISH names its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AliasUse {
    /// The topic name, no alias.
    #[default]
    NameOnly,
    /// The topic name and an alias: sets (or replaces) the client's mapping.
    NameAndAlias(TopicAlias),
    /// An empty topic name and an alias the client already maps to the topic.
    AliasOnly(TopicAlias),
}

impl AliasUse {
    /// The alias sent, if any.
    #[must_use]
    pub fn alias(self) -> Option<TopicAlias> {
        match self {
            AliasUse::NameOnly => None,
            AliasUse::NameAndAlias(alias) | AliasUse::AliasOnly(alias) => Some(alias),
        }
    }

    /// Sets the Topic Alias of `publish` and, for [`AliasUse::AliasOnly`], empties its topic
    /// name. `publish` must carry its topic name.
    pub fn apply(self, publish: &mut Publish) {
        publish.properties.topic_alias = self.alias();
        if let AliasUse::AliasOnly(_) = self {
            publish.topic = None;
        }
    }
}

/// The client's topic aliases: alias to topic, for PUBLISH packets the client sends.
///
/// An ordered map: empty, it is 24 bytes and allocates nothing (most clients set no alias,
/// and the session lives inside every connection's task).
#[derive(Debug, Clone, Default)]
pub struct InboundAliases {
    maximum: u16,
    topics: BTreeMap<TopicAlias, TopicName>,
}

impl InboundAliases {
    /// An empty map accepting aliases 1 to `maximum`, the Topic Alias Maximum the server sent
    /// in CONNACK (0 when absent: no alias is accepted, [MQTT-3.2.2-18]).
    #[must_use]
    pub fn new(maximum: u16) -> Self {
        InboundAliases {
            maximum,
            topics: BTreeMap::new(),
        }
    }

    /// The server's Topic Alias Maximum.
    #[must_use]
    pub fn maximum(&self) -> u16 {
        self.maximum
    }

    /// How many aliases are mapped; never more than [`maximum`](Self::maximum).
    #[must_use]
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// Whether no alias is mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topic `alias` maps to.
    #[must_use]
    pub fn get(&self, alias: TopicAlias) -> Option<&TopicName> {
        self.topics.get(&alias)
    }

    /// Resolves the topic alias of a PUBLISH from the client (MQTT 5.0 §3.3.4): afterwards
    /// `publish` names its topic and carries no alias.
    ///
    /// - an alias above the maximum is refused ([MQTT-3.3.2-9], 0x94); every alias from 1 to
    ///   the maximum is accepted ([MQTT-3.3.2-12]);
    /// - a topic name with an alias sets or replaces the mapping;
    /// - an empty topic name takes the mapped topic; with no mapping it is refused (0x82).
    ///
    /// The map keeps its own copy of each topic, not a share of the receive buffer.
    pub fn resolve(&mut self, publish: &mut Publish) -> Result<(), AliasError> {
        let Some(alias) = publish.properties.topic_alias else {
            return match publish.topic {
                Some(_) => Ok(()),
                None => Err(AliasError::MissingTopic),
            };
        };
        if alias.get() > self.maximum {
            return Err(AliasError::AboveMaximum {
                alias: alias.get(),
                maximum: self.maximum,
            });
        }
        match &publish.topic {
            Some(topic) => {
                if self.topics.get(&alias) != Some(topic) {
                    self.topics.insert(alias, detach_topic(topic));
                }
            }
            None => {
                let topic = self.get(alias).ok_or(AliasError::Unmapped(alias.get()))?;
                publish.topic = Some(topic.clone());
            }
        }
        publish.properties.topic_alias = None;
        Ok(())
    }
}

/// The server's topic aliases: topic to alias, for PUBLISH packets the server sends.
///
/// Bounded by the client's Topic Alias Maximum: no alias above it is ever chosen
/// ([MQTT-3.1.2-26], [MQTT-3.3.2-11]), none at all when it is 0 or absent ([MQTT-3.1.2-27]).
/// When every alias is taken, the least recently used one is given to the new topic.
///
/// The maps are allocated with the first alias chosen: most clients take none, and the
/// session lives inside every connection's task.
#[derive(Debug, Clone, Default)]
pub struct OutboundAliases {
    maximum: u16,
    maps: Option<Box<OutboundMaps>>,
}

/// The mappings of [`OutboundAliases`].
#[derive(Debug, Clone, Default)]
struct OutboundMaps {
    /// Topic to (alias, tick of last use).
    by_topic: HashMap<TopicName, (TopicAlias, u64)>,
    /// Alias to topic.
    by_alias: HashMap<TopicAlias, TopicName>,
    /// Tick of last use to alias: the first entry is the least recently used.
    lru: BTreeMap<u64, TopicAlias>,
    /// Aliases given back by [`OutboundAliases::forget`].
    free: Vec<TopicAlias>,
    /// The highest alias handed out so far.
    highest: u16,
    tick: u64,
}

impl OutboundAliases {
    /// The shortest topic given an alias: below it, the 3-byte Topic Alias property costs
    /// as much as the name it replaces.
    pub const MIN_TOPIC_LEN: usize = 4;

    /// An empty map for a client whose Topic Alias Maximum is `maximum`.
    #[must_use]
    pub fn new(maximum: u16) -> Self {
        OutboundAliases {
            maximum,
            maps: None,
        }
    }

    /// The client's Topic Alias Maximum.
    #[must_use]
    pub fn maximum(&self) -> u16 {
        self.maximum
    }

    /// How many aliases are mapped; never more than [`maximum`](Self::maximum).
    #[must_use]
    pub fn len(&self) -> usize {
        self.maps.as_ref().map_or(0, |maps| maps.by_alias.len())
    }

    /// Whether no alias is mapped.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether no alias was ever chosen: the map is as [`new`](Self::new) made it. (An empty
    /// map that was used still remembers which aliases it handed out.)
    pub(crate) fn is_unused(&self) -> bool {
        self.maps.is_none()
    }

    /// The alias `topic` is mapped to on the client.
    #[must_use]
    pub fn get(&self, topic: &TopicName) -> Option<TopicAlias> {
        let maps = self.maps.as_ref()?;
        maps.by_topic.get(topic).map(|(alias, _)| *alias)
    }

    /// Decides how the next PUBLISH to the client names `topic`, and records the mapping the
    /// client will hold once it is sent: the alias alone if the topic is mapped, the name with
    /// a free (or the least recently used) alias otherwise, the name alone when the client
    /// takes no aliases or the topic is too short for an alias to save bytes (an alias costs
    /// 3 bytes, so a topic of [`MIN_TOPIC_LEN`](Self::MIN_TOPIC_LEN) - 1 bytes or fewer is
    /// always sent by name).
    ///
    /// If the PUBLISH is then not sent (for instance it exceeds the client's Maximum Packet
    /// Size, [MQTT-3.1.2-25]), call [`forget`](Self::forget) with its alias.
    pub fn choose(&mut self, topic: &TopicName) -> AliasUse {
        if self.maximum == 0 || topic.len() < Self::MIN_TOPIC_LEN {
            return AliasUse::NameOnly;
        }
        let maximum = self.maximum;
        let maps = self.maps.get_or_insert_with(Box::default);
        maps.tick += 1;
        let tick = maps.tick;
        if let Some((alias, used)) = maps.by_topic.get_mut(topic) {
            let alias = *alias;
            maps.lru.remove(used);
            *used = tick;
            maps.lru.insert(tick, alias);
            return AliasUse::AliasOnly(alias);
        }
        let Some(alias) = maps.take_alias(maximum) else {
            return AliasUse::NameOnly;
        };
        let topic = detach_topic(topic);
        maps.by_alias.insert(alias, topic.clone());
        maps.by_topic.insert(topic, (alias, tick));
        maps.lru.insert(tick, alias);
        AliasUse::NameAndAlias(alias)
    }

    /// Drops the mapping of `alias`, which the client never learnt. Returns whether it was
    /// mapped.
    pub fn forget(&mut self, alias: TopicAlias) -> bool {
        let Some(maps) = self.maps.as_mut() else {
            return false;
        };
        let Some(topic) = maps.by_alias.remove(&alias) else {
            return false;
        };
        if let Some((_, used)) = maps.by_topic.remove(&topic) {
            maps.lru.remove(&used);
        }
        maps.free.push(alias);
        true
    }
}

impl OutboundMaps {
    /// A free alias, or the least recently used one unmapped.
    fn take_alias(&mut self, maximum: u16) -> Option<TopicAlias> {
        if let Some(alias) = self.free.pop() {
            return Some(alias);
        }
        if self.highest < maximum {
            self.highest += 1;
            return TopicAlias::new(self.highest).ok();
        }
        let (_, alias) = self.lru.pop_first()?;
        if let Some(topic) = self.by_alias.remove(&alias) {
            self.by_topic.remove(&topic);
        }
        Some(alias)
    }
}

#[cfg(test)]
#[path = "topic_alias_test.rs"]
mod tests;
