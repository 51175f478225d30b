//! Application messages both ways, their acknowledgements, SUBSCRIBE and UNSUBSCRIBE.

use std::time::Instant;

use crate::codec::{
    Ack, AckProperties, Packet, Publish, QosPid, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::router::SubscriptionEntry;
use crate::types::{ProtocolVersion, QoS, ReasonCode};

use super::machine::Phase;
use super::{
    CloseReason, Command, DropReason, Dropped, FilterOutcome, FilterRequest, InboundQos2Publish,
    Message, PubAckOutcome, PubCompOutcome, PubRecOutcome, PublishAck, PublishOutcome,
    PublishRequest, QueuedMessage, SendOptions, Session, SubscribeRequest, UnsubscribeRequest,
};

/// Reason Strings of the acknowledgements of the wrong kind: each packet answers one step of
/// one kind of exchange (MQTT 5.0 and 3.1.1 §3.4, §3.5, §3.7); an acknowledgement for a
/// packet identifier whose exchange is at another step is a Protocol Error (MQTT 5.0 §1.2,
/// [MQTT-4.13.1-1]; 3.1.1 [MQTT-4.8.0-1]: close the connection).
const WRONG_PUBACK: &str = "PUBACK for a QoS 2 exchange (MQTT 5.0 §3.4)";
const WRONG_PUBREC: &str = "PUBREC for a QoS 1 PUBLISH (MQTT 5.0 §3.5)";
const WRONG_PUBCOMP: &str = "PUBCOMP for a packet identifier with no PUBREL sent (MQTT 5.0 §3.7)";

/// What [`Session::deliver`] did with a message.
#[derive(Debug)]
#[must_use]
pub enum DeliverOutcome {
    /// The PUBLISH is queued for transmission.
    Sent,
    /// The message cannot be sent now (in-flight window full, or not connected): put it back
    /// at the front of the queue, so that order is kept.
    Blocked(QueuedMessage),
    /// The message will never be sent to this client, and why.
    Dropped(Dropped),
}

impl Session {
    pub(crate) fn handle_publish(&mut self, mut publish: Publish, now: Instant) {
        if let Err(e) = self.inbound_aliases.resolve(&mut publish) {
            return self.protocol_error(e.reason_code(), e.statement());
        }
        // [MQTT-3.3.4-6]: a client's PUBLISH never carries a Subscription Identifier.
        if !publish.properties.subscription_identifiers.is_empty() {
            return self.protocol_error(ReasonCode::ProtocolError, Some("[MQTT-3.3.4-6]"));
        }
        let qos = publish.qos_pid.qos();
        // [MQTT-3.2.2-11], [MQTT-3.2.2-14]: what the CONNACK said is not supported.
        if qos > self.config.max_qos {
            return self.protocol_error(ReasonCode::QoSNotSupported, Some("[MQTT-3.2.2-11]"));
        }
        if publish.retain && !self.config.retain_available {
            return self.protocol_error(ReasonCode::RetainNotSupported, Some("[MQTT-3.2.2-14]"));
        }
        let within = publish
            .topic
            .as_ref()
            .is_some_and(|t| self.topic_within_limits(t.as_str()));
        if !within {
            return self.protocol_error(ReasonCode::TopicNameInvalid, Some("topic over limits"));
        }
        let ack = match publish.qos_pid {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(packet_id) => Some(PublishAck { packet_id, qos }),
            QosPid::ExactlyOnce(packet_id) => {
                match self.state.inbound_qos2.handle_publish(packet_id) {
                    Ok(InboundQos2Publish::New) => Some(PublishAck { packet_id, qos }),
                    // [MQTT-4.3.3-10]: acknowledged again, not delivered again.
                    Ok(InboundQos2Publish::Duplicate) => {
                        self.transmit.push_back(Packet::PubRec(Ack::new(packet_id)));
                        return;
                    }
                    Err(exceeded) => {
                        return self.protocol_error(exceeded.reason_code(), Some("[MQTT-3.3.4-9]"));
                    }
                }
            }
        };
        match Message::from_publish(publish, now) {
            Ok(message) => self
                .commands
                .push_back(Command::Publish(PublishRequest { message, ack })),
            Err(_) => {
                self.protocol_error(ReasonCode::ProtocolError, Some("unresolved topic alias"))
            }
        }
    }

    /// The runtime routed (or refused) the message of a QoS 1 or 2 PUBLISH: the PUBACK or
    /// PUBREC goes out ([MQTT-4.3.2-4], [MQTT-4.3.3-8]). MQTT 5 answers 0x10 when no
    /// subscription matched; a refused QoS 2 message frees its packet identifier
    /// ([MQTT-4.3.3-9]).
    ///
    /// A refused message ([`PublishOutcome::Refused`]: the broker could not keep it, the
    /// session store failed) gets the refusal's reason code in MQTT 5 (0x97, 0x80). A 3.x
    /// PUBACK or PUBREC has no reason code and would tell the client the broker owns the
    /// message ([MQTT-4.3.2-2], [MQTT-4.3.3-2]): a 3.x session sends none, and closes the
    /// connection instead ([`CloseReason::PublishRefused`], the will published), so that the
    /// client keeps the PUBLISH unacknowledged ([MQTT-4.3.2-1], [MQTT-4.3.3-1]) and sends it
    /// again when it reconnects ([MQTT-4.4.0-1]). No later acknowledgement goes out either:
    /// the session is closed. (A publish the hooks deny is not refused here:
    /// [`Session::refuse_publish`] acknowledges it in 3.x, as Mosquitto does.)
    pub fn complete_publish(&mut self, ack: PublishAck, outcome: PublishOutcome) {
        if self.phase != Phase::Connected {
            return;
        }
        let code = match outcome {
            PublishOutcome::Routed { matched: true } => ReasonCode::Success,
            PublishOutcome::Routed { matched: false } => ReasonCode::NoMatchingSubscribers,
            PublishOutcome::Refused(code) => code,
        };
        if ack.qos == QoS::ExactlyOnce && code.is_error() {
            // The message is not the broker's: the client's next PUBLISH with this
            // identifier (its DUP, after a close) is a new message to route.
            self.state.inbound_qos2.refuse(ack.packet_id);
        }
        if let PublishOutcome::Refused(code) = outcome {
            if self.version != Some(ProtocolVersion::V5) {
                return self.close(CloseReason::PublishRefused(code), true);
            }
        }
        let packet = Ack {
            packet_id: ack.packet_id,
            code,
            properties: AckProperties::default(),
        };
        if ack.qos == QoS::ExactlyOnce {
            self.transmit.push_back(Packet::PubRec(packet));
        } else {
            self.transmit.push_back(Packet::PubAck(packet));
        }
    }

    pub(crate) fn handle_pubrel(&mut self, pubrel: &Ack) {
        let pubcomp = self.state.inbound_qos2.handle_pubrel(pubrel);
        self.transmit.push_back(Packet::PubComp(pubcomp));
    }

    pub(crate) fn handle_puback(&mut self, ack: &Ack) {
        match self.state.outbound.handle_puback(ack) {
            PubAckOutcome::Acknowledged(_) => self.state.forget_shared(ack.packet_id),
            // Nothing waits for it (a late or repeated PUBACK): ignored, as Mosquitto does.
            PubAckOutcome::Unknown => {}
            PubAckOutcome::WrongKind(_) => {
                self.protocol_error(ReasonCode::ProtocolError, Some(WRONG_PUBACK));
            }
        }
    }

    pub(crate) fn handle_pubrec(&mut self, ack: &Ack) {
        match self.state.outbound.handle_pubrec(ack) {
            PubRecOutcome::Release(pubrel) => {
                // The client has the message: no other member of a shared group gets it.
                self.state.forget_shared(ack.packet_id);
                self.transmit.push_back(Packet::PubRel(pubrel));
            }
            PubRecOutcome::Unknown(pubrel) => self.transmit.push_back(Packet::PubRel(pubrel)),
            PubRecOutcome::Refused(_) => self.state.forget_shared(ack.packet_id),
            PubRecOutcome::Ignored => {}
            PubRecOutcome::WrongKind(_) => {
                self.protocol_error(ReasonCode::ProtocolError, Some(WRONG_PUBREC));
            }
        }
    }

    pub(crate) fn handle_pubcomp(&mut self, ack: &Ack) {
        if let PubCompOutcome::WrongKind(_) = self.state.outbound.handle_pubcomp(ack) {
            self.protocol_error(ReasonCode::ProtocolError, Some(WRONG_PUBCOMP));
        }
    }

    /// Whether a message at `qos` can be sent now: connected, and for QoS 1 and 2 the
    /// client's Receive Maximum leaves room ([MQTT-3.3.4-9]).
    #[must_use]
    pub fn can_deliver(&self, qos: QoS) -> bool {
        self.phase == Phase::Connected
            && (qos == QoS::AtMostOnce || self.state.outbound.has_quota())
    }

    /// Sends a message from the client's queue: QoS already downgraded to the granted QoS,
    /// remaining Message Expiry Interval ([MQTT-3.3.2-6]), Subscription Identifiers, a topic
    /// alias when the client accepts them. A message that has expired ([MQTT-3.3.2-5]) or is
    /// larger than the client's Maximum Packet Size ([MQTT-3.1.2-25]) is dropped.
    pub fn deliver(&mut self, message: QueuedMessage, now: Instant) -> DeliverOutcome {
        if !self.can_deliver(message.qos) {
            return DeliverOutcome::Blocked(message);
        }
        if message.message.is_expired(now) {
            return dropped(message, DropReason::Expired);
        }
        let version = self.version.unwrap_or(ProtocolVersion::V5);
        let options = |qos_pid| SendOptions {
            retain: message.retain,
            subscription_ids: if version == ProtocolVersion::V5 {
                message.subscription_ids.clone()
            } else {
                Vec::new()
            },
            ..SendOptions::new(qos_pid)
        };
        // Size with the full topic name plus room for a new alias (3 bytes).
        let probe_pid = match message.qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(crate::types::PacketId::MIN),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(crate::types::PacketId::MIN),
        };
        let Ok(probe) = message.message.to_publish(options(probe_pid), now) else {
            return dropped(message, DropReason::Expired);
        };
        let alias_room = if self.outbound_aliases.maximum() > 0 {
            3
        } else {
            0
        };
        let fits = Packet::Publish(probe)
            .encoded_len(version)
            .is_ok_and(|len| len + alias_room <= self.client_max_packet_size as usize);
        if !fits {
            return dropped(message, DropReason::PacketTooLarge);
        }
        let built = match message.qos {
            QoS::AtMostOnce => message
                .message
                .to_publish(options(QosPid::AtMostOnce), now)
                .ok(),
            QoS::AtLeastOnce => self
                .state
                .outbound
                .insert_stored(
                    |id| {
                        message
                            .message
                            .to_publish(options(QosPid::AtLeastOnce(id)), now)
                    },
                    message.stored,
                )
                .ok(),
            QoS::ExactlyOnce => self
                .state
                .outbound
                .insert_stored(
                    |id| {
                        message
                            .message
                            .to_publish(options(QosPid::ExactlyOnce(id)), now)
                    },
                    message.stored,
                )
                .ok(),
        };
        let Some(mut publish) = built else {
            return DeliverOutcome::Blocked(message);
        };
        if let (Some(filter), Some(id)) = (message.shared, publish.qos_pid.packet_id()) {
            self.state.note_shared(id, filter);
        }
        if let Some(topic) = publish.topic.clone() {
            self.outbound_aliases.choose(&topic).apply(&mut publish);
        }
        self.transmit.push_back(Packet::Publish(publish));
        DeliverOutcome::Sent
    }

    pub(crate) fn handle_subscribe(&mut self, subscribe: Subscribe) {
        let config = std::sync::Arc::clone(&self.config);
        let id = subscribe.properties.subscription_identifier;
        if id.is_some() && !config.subscription_identifiers {
            return self.protocol_error(
                ReasonCode::SubscriptionIdentifiersNotSupported,
                Some("Subscription Identifiers are not supported (MQTT 5.0 §3.2.2.3.12)"),
            );
        }
        let mut filters = Vec::with_capacity(subscribe.subscriptions.len());
        for sub in subscribe.subscriptions {
            // [MQTT-3.8.3-4]: No Local on a shared subscription is a Protocol Error.
            if sub.filter.is_shared() && sub.options.no_local {
                return self.protocol_error(ReasonCode::ProtocolError, Some("[MQTT-3.8.3-4]"));
            }
            let refused = if !self.topic_within_limits(sub.filter.as_str()) {
                Some(ReasonCode::TopicFilterInvalid)
            } else if sub.filter.is_shared() && !config.shared_subscriptions {
                Some(ReasonCode::SharedSubscriptionsNotSupported)
            } else if sub.filter.has_wildcards() && !config.wildcard_subscriptions {
                Some(ReasonCode::WildcardSubscriptionsNotSupported)
            } else {
                None
            };
            let mut options = sub.options;
            options.qos = options.qos.min(config.max_qos);
            if self.bridge && !sub.filter.is_shared() {
                // As Mosquitto does for its bridges: what the bridge sent is not sent back
                // to it, and what it gets keeps the retain flag it was published with.
                options.no_local = true;
                options.retain_as_published = true;
            }
            let existed = self.state.subscription(&sub.filter).is_some();
            // A filter that is kept (session, router) gets its own bytes: the SUBSCRIBE's
            // receive buffer is not kept alive for the subscription's life.
            let filter = if refused.is_none() {
                sub.filter.detached()
            } else {
                sub.filter
            };
            filters.push(FilterRequest {
                filter,
                entry: SubscriptionEntry::new(options, id),
                existed,
                refused,
            });
        }
        self.pending_subscribes
            .push((subscribe.packet_id, filters.clone()));
        self.commands
            .push_back(Command::Subscribe(SubscribeRequest {
                packet_id: subscribe.packet_id,
                filters,
            }));
    }

    /// The runtime subscribed (or refused) the filters of a SUBSCRIBE, one outcome per
    /// filter in order: the session records the granted ones and sends the SUBACK
    /// ([MQTT-3.8.4-1], [MQTT-3.8.4-7]: one code per filter, in order).
    pub fn complete_subscribe(
        &mut self,
        packet_id: crate::types::PacketId,
        outcomes: &[FilterOutcome],
    ) {
        let Some(index) = self
            .pending_subscribes
            .iter()
            .position(|(id, _)| *id == packet_id)
        else {
            return;
        };
        let (_, filters) = self.pending_subscribes.swap_remove(index);
        let mut codes = Vec::with_capacity(filters.len());
        for (i, request) in filters.into_iter().enumerate() {
            let outcome = match request.refused {
                Some(code) => FilterOutcome::Refused(code),
                None => outcomes
                    .get(i)
                    .copied()
                    .unwrap_or(FilterOutcome::Refused(ReasonCode::UnspecifiedError)),
            };
            codes.push(match outcome {
                FilterOutcome::Granted(qos) => {
                    let mut entry = request.entry;
                    entry.options.qos = qos;
                    self.state.insert_subscription(request.filter, entry);
                    ReasonCode::granted(qos)
                }
                FilterOutcome::Refused(code) => code,
            });
        }
        if self.phase == Phase::Connected {
            // [MQTT-3.1.2-24], [MQTT-3.1.2-25]: one code per filter may not fit a client's
            // Maximum Packet Size; such a SUBACK is discarded.
            self.transmit_fitted(Packet::SubAck(SubAck {
                packet_id,
                codes,
                properties: AckProperties::default(),
            }));
        }
    }

    pub(crate) fn handle_unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        let mut removed = Vec::new();
        let codes = unsubscribe
            .filters
            .into_iter()
            .map(|filter| {
                if self.state.remove_subscription(&filter).is_some() {
                    removed.push(filter);
                    ReasonCode::Success
                } else {
                    ReasonCode::NoSubscriptionExisted
                }
            })
            .collect();
        if !removed.is_empty() {
            self.commands
                .push_back(Command::Unsubscribe(UnsubscribeRequest {
                    filters: removed,
                }));
        }
        // [MQTT-3.10.4-4], [MQTT-3.10.4-5]: UNSUBACK even when nothing matched.
        self.transmit_fitted(Packet::UnsubAck(UnsubAck {
            packet_id: unsubscribe.packet_id,
            codes,
            properties: AckProperties::default(),
        }));
    }
}

fn dropped(message: QueuedMessage, reason: DropReason) -> DeliverOutcome {
    DeliverOutcome::Dropped(Dropped::held(message, reason))
}
