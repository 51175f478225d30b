//! The client's Maximum Packet Size on what the session sends (MQTT 5.0 §3.1.2.11.4).
//!
//! The server never sends a packet larger than the Maximum Packet Size the client announced
//! ([MQTT-3.1.2-24]). Before a control packet that carries properties or a list (CONNACK,
//! DISCONNECT, AUTH, acknowledgements with a Reason String, SUBACK, UNSUBACK) is queued, the
//! session drops what the specification lets the server drop to make it fit: the Reason
//! String and the User Properties (CONNACK [MQTT-3.2.2-19], [MQTT-3.2.2-20]; PUBACK
//! [MQTT-3.4.2-2], [MQTT-3.4.2-3]; PUBREC [MQTT-3.5.2-2], [MQTT-3.5.2-3]; SUBACK
//! [MQTT-3.9.2-1], [MQTT-3.9.2-2]; UNSUBACK [MQTT-3.11.2-1], [MQTT-3.11.2-2]; DISCONNECT
//! [MQTT-3.14.2-3], [MQTT-3.14.2-4]; AUTH [MQTT-3.15.2-2], [MQTT-3.15.2-3]). A packet that
//! still does not fit is discarded without being sent ([MQTT-3.1.2-25]); for a CONNACK the
//! session closes the connection instead, since no packet can ever reach that client.
//!
//! PUBLISH packets are sized in [`Session::deliver`]. Acknowledgements without properties
//! (5 bytes at most) and PINGRESP (2 bytes) always fit once a CONNACK (5 bytes at least) did,
//! so the publish path does no size check here. Clients that announced no Maximum Packet
//! Size (and every MQTT 3 client) cost one comparison.

use crate::codec::{Packet, MAX_PACKET_SIZE};
use crate::types::ProtocolVersion;

use super::Session;

/// The size of the smallest MQTT 5 CONNACK: fixed header, flags, reason code, property
/// length 0. A client whose Maximum Packet Size is below it can never be answered.
pub(crate) const MIN_V5_CONNACK: u32 = 5;

impl Session {
    /// Whether the client announced a Maximum Packet Size below the protocol's.
    fn has_packet_limit(&self) -> bool {
        self.client_max_packet_size < MAX_PACKET_SIZE
    }

    /// Makes `packet` fit the client's Maximum Packet Size by dropping its Reason String and
    /// User Properties if it is too large, and says whether it fits then.
    pub(crate) fn fit_to_client(&self, packet: &mut Packet) -> bool {
        if !self.has_packet_limit() {
            return true;
        }
        let version = self.version.unwrap_or(ProtocolVersion::V5);
        let max = self.client_max_packet_size as usize;
        let fits = |p: &Packet| p.encoded_len(version).is_ok_and(|len| len <= max);
        if fits(packet) {
            return true;
        }
        drop_problem_information(packet);
        fits(packet)
    }

    /// Queues `packet` if it fits the client's Maximum Packet Size (after
    /// [`fit_to_client`](Self::fit_to_client)); otherwise discards it ([MQTT-3.1.2-25]).
    pub(crate) fn transmit_fitted(&mut self, mut packet: Packet) {
        if self.fit_to_client(&mut packet) {
            self.transmit.push_back(packet);
        }
    }
}

/// Removes the Reason String and the User Properties, the properties the server may leave
/// out of a packet to keep it within the client's Maximum Packet Size.
fn drop_problem_information(packet: &mut Packet) {
    match packet {
        Packet::ConnAck(c) => {
            c.properties.reason_string = None;
            c.properties.user_properties.clear();
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            a.properties.reason_string = None;
            a.properties.user_properties.clear();
        }
        Packet::SubAck(s) => {
            s.properties.reason_string = None;
            s.properties.user_properties.clear();
        }
        Packet::UnsubAck(u) => {
            u.properties.reason_string = None;
            u.properties.user_properties.clear();
        }
        Packet::Disconnect(d) => {
            d.properties.reason_string = None;
            d.properties.user_properties.clear();
        }
        Packet::Auth(a) => {
            a.properties.reason_string = None;
            a.properties.user_properties.clear();
        }
        Packet::Connect(_)
        | Packet::Publish(_)
        | Packet::Subscribe(_)
        | Packet::Unsubscribe(_)
        | Packet::PingReq
        | Packet::PingResp => {}
    }
}
