//! The admin endpoint's JSON: the broker's admin types as the API shows them, the body of a
//! publish as it reads it, and the opaque page cursors (docs/admin.md has the schema).

use std::time::UNIX_EPOCH;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use broker_core::admin::{
    ClientDetails, ClientSummary, Page, RetainedSummary, SubscriptionSummary,
};
use broker_core::codec::PublishProperties;
use broker_core::types::{MqttString, PayloadFormat, QoS, TopicName, UserProperty};
use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::admin_query::BadRequest;

/// `page` as `{"data": [...], "next_cursor": ...}`.
pub(crate) fn page<T>(page: &Page<T>, item: impl Fn(&T) -> Value) -> Value {
    json!({
        "data": page.items.iter().map(item).collect::<Vec<_>>(),
        "next_cursor": page.next.as_deref().map(|next| URL_SAFE_NO_PAD.encode(next)),
    })
}

/// The broker's cursor in an API cursor (base64url of it).
///
/// # Errors
///
/// Not one the API gave.
pub(crate) fn decode_cursor(cursor: &str) -> Result<String, BadRequest> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| BadRequest("cursor: not a cursor this API gave".to_owned()))
}

/// One client, as listed.
pub(crate) fn client(client: &ClientSummary) -> Value {
    json!({
        "client_id": client.client_id.as_str(),
        "connected": client.connected,
        "username": client.username.as_ref().map(MqttString::as_str),
        "remote_address": client.remote_addr.map(|addr| addr.to_string()),
        "protocol": client.protocol.map(|protocol| protocol.to_string()),
        "protocol_level": client.protocol.map(|protocol| protocol.level()),
        "keep_alive": client.keep_alive,
        "clean_start": client.clean_start,
        "session_expiry_interval": client.session_expiry,
        "connected_at": client.connected_at.and_then(|at| at.duration_since(UNIX_EPOCH).ok()).map(|since| since.as_secs()),
        "subscription_count": client.subscriptions,
        "queued_messages": client.queued_messages,
        "queued_bytes": client.queued_bytes,
        "inflight": client.inflight,
    })
}

/// One client in full: as listed, with its subscriptions.
pub(crate) fn client_details(details: &ClientDetails) -> Value {
    let mut value = client(&details.summary);
    if let Value::Object(fields) = &mut value {
        fields.insert(
            "subscriptions".to_owned(),
            details.subscriptions.iter().map(subscription).collect(),
        );
    }
    value
}

/// One subscription.
pub(crate) fn subscription(subscription: &SubscriptionSummary) -> Value {
    let options = &subscription.options;
    json!({
        "client_id": subscription.client_id.as_str(),
        "filter": subscription.filter.as_str(),
        "qos": u8::from(options.qos),
        "no_local": options.no_local,
        "retain_as_published": options.retain_as_published,
        "retain_handling": options.retain_handling as u8,
        "subscription_identifier": subscription.id.map(|id| id.get()),
    })
}

/// One retained message: the payload as text when it is UTF-8, base64 otherwise.
pub(crate) fn retained(message: &RetainedSummary) -> Value {
    let (payload, encoding) = match std::str::from_utf8(&message.payload) {
        Ok(text) => (text.to_owned(), "utf8"),
        Err(_) => (STANDARD.encode(&message.payload), "base64"),
    };
    json!({
        "topic": message.topic.as_str(),
        "qos": u8::from(message.qos),
        "payload": payload,
        "payload_encoding": encoding,
        "payload_size": message.payload.len(),
        "properties": properties(&message.properties),
    })
}

/// The MQTT 5 properties of a message, those set.
fn properties(properties: &PublishProperties) -> Value {
    let mut fields = Map::new();
    if let Some(format) = properties.payload_format_indicator {
        fields.insert(
            "payload_format_indicator".to_owned(),
            Value::Bool(format == PayloadFormat::Utf8),
        );
    }
    if let Some(expiry) = properties.message_expiry_interval {
        fields.insert("message_expiry_interval".to_owned(), expiry.into());
    }
    if let Some(topic) = &properties.response_topic {
        fields.insert("response_topic".to_owned(), topic.as_str().into());
    }
    if let Some(data) = &properties.correlation_data {
        fields.insert("correlation_data".to_owned(), STANDARD.encode(data).into());
    }
    if let Some(content_type) = &properties.content_type {
        fields.insert("content_type".to_owned(), content_type.as_str().into());
    }
    if !properties.user_properties.is_empty() {
        let pairs = properties
            .user_properties
            .iter()
            .map(
                |property| json!({"name": property.key.as_str(), "value": property.value.as_str()}),
            )
            .collect();
        fields.insert("user_properties".to_owned(), Value::Array(pairs));
    }
    Value::Object(fields)
}

/// How a payload is written in a publish body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    /// The text itself.
    #[default]
    Utf8,
    /// Base64 (standard alphabet, padded).
    Base64,
}

/// A `POST /api/v1/publish` body, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    topic: String,
    #[serde(default)]
    payload: String,
    #[serde(default)]
    payload_encoding: Encoding,
    #[serde(default)]
    qos: u8,
    #[serde(default)]
    retain: bool,
    #[serde(default)]
    properties: PropertiesBody,
}

/// The MQTT 5 properties of a publish body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertiesBody {
    payload_format_indicator: Option<bool>,
    message_expiry_interval: Option<u32>,
    response_topic: Option<String>,
    correlation_data: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    user_properties: Vec<UserPropertyBody>,
}

/// One user property.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPropertyBody {
    name: String,
    value: String,
}

/// A message to publish, checked.
#[derive(Debug)]
pub(crate) struct PublishRequest {
    pub(crate) topic: TopicName,
    pub(crate) payload: Bytes,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) properties: PublishProperties,
}

/// Reads a publish body.
///
/// # Errors
///
/// Not JSON, a field missing, unknown or of the wrong type, or a value that cannot be
/// published (a topic with wildcards, a QoS above 2, bad base64, ...), each named.
pub(crate) fn publish_request(body: &[u8]) -> Result<PublishRequest, BadRequest> {
    let body: PublishBody =
        serde_json::from_slice(body).map_err(|error| BadRequest(format!("body: {error}")))?;
    let topic = TopicName::new(body.topic.as_str())
        .map_err(|error| BadRequest(format!("topic: {error}")))?;
    let payload = match body.payload_encoding {
        Encoding::Utf8 => Bytes::from(body.payload),
        Encoding::Base64 => STANDARD
            .decode(body.payload.as_bytes())
            .map(Bytes::from)
            .map_err(|error| BadRequest(format!("payload: not base64: {error}")))?,
    };
    let qos = QoS::try_from(body.qos)
        .map_err(|_| BadRequest(format!("qos: must be 0, 1 or 2, got {}", body.qos)))?;
    let given = body.properties;
    let payload_format_indicator = given.payload_format_indicator.map(|utf8| {
        if utf8 {
            PayloadFormat::Utf8
        } else {
            PayloadFormat::Unspecified
        }
    });
    if payload_format_indicator == Some(PayloadFormat::Utf8)
        && std::str::from_utf8(&payload).is_err()
    {
        return Err(BadRequest(
            "properties.payload_format_indicator: the payload is not UTF-8".to_owned(),
        ));
    }
    let response_topic = given
        .response_topic
        .map(|topic| {
            TopicName::new(topic.as_str())
                .map_err(|error| BadRequest(format!("properties.response_topic: {error}")))
        })
        .transpose()?;
    let correlation_data = given
        .correlation_data
        .map(|data| {
            STANDARD
                .decode(data.as_bytes())
                .map(Bytes::from)
                .map_err(|error| {
                    BadRequest(format!("properties.correlation_data: not base64: {error}"))
                })
        })
        .transpose()?;
    let content_type = given
        .content_type
        .map(|text| mqtt_string(text, "properties.content_type"))
        .transpose()?;
    let mut user_properties = Vec::with_capacity(given.user_properties.len());
    for (n, property) in given.user_properties.into_iter().enumerate() {
        user_properties.push(UserProperty {
            key: mqtt_string(
                property.name,
                &format!("properties.user_properties[{n}].name"),
            )?,
            value: mqtt_string(
                property.value,
                &format!("properties.user_properties[{n}].value"),
            )?,
        });
    }
    let properties = PublishProperties {
        payload_format_indicator,
        message_expiry_interval: given.message_expiry_interval,
        response_topic,
        correlation_data,
        content_type,
        user_properties,
        ..PublishProperties::default()
    };
    Ok(PublishRequest {
        topic,
        payload,
        qos,
        retain: body.retain,
        properties,
    })
}

fn mqtt_string(text: String, what: &str) -> Result<MqttString, BadRequest> {
    MqttString::new(text).map_err(|error| BadRequest(format!("{what}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_body_with_every_field_reads() {
        let body = br#"{"topic": "a/b", "payload": "aGk=", "payload_encoding": "base64",
            "qos": 1, "retain": true, "properties": {"content_type": "text/plain",
            "message_expiry_interval": 60, "correlation_data": "AQI=",
            "response_topic": "r/1", "payload_format_indicator": true,
            "user_properties": [{"name": "k", "value": "v"}]}}"#;
        let request = publish_request(body).unwrap();
        assert_eq!(request.topic.as_str(), "a/b");
        assert_eq!(&request.payload[..], b"hi");
        assert_eq!(request.qos, QoS::AtLeastOnce);
        assert!(request.retain);
        let properties = &request.properties;
        assert_eq!(
            properties.content_type.as_ref().map(MqttString::as_str),
            Some("text/plain")
        );
        assert_eq!(properties.message_expiry_interval, Some(60));
        assert_eq!(properties.correlation_data.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(properties.user_properties.len(), 1);
    }

    #[test]
    fn bad_publish_bodies_name_the_problem() {
        for (body, named) in [
            (&br#"{"payload": "x"}"#[..], "topic"),
            (br#"{"topic": "a/#"}"#, "topic"),
            (br#"{"topic": "a", "qos": 3}"#, "qos"),
            (
                br#"{"topic": "a", "payload": "!", "payload_encoding": "base64"}"#,
                "payload",
            ),
            (br#"{"topic": "a", "colour": 1}"#, "colour"),
            (br#"not json"#, "body"),
        ] {
            let error = publish_request(body).unwrap_err();
            assert!(error.0.contains(named), "{named}: {error:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let encoded = URL_SAFE_NO_PAD.encode("a\u{0}b/#");
        assert_eq!(decode_cursor(&encoded).unwrap(), "a\u{0}b/#");
        assert!(decode_cursor("***").is_err());
    }
}
