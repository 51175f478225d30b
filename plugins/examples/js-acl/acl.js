// An example Skein plugin in JavaScript: topic rules in the manner of a Mosquitto ACL file,
// deny by default. The same rules and configuration as the Rust example (plugins/examples/acl):
//
//   publish = "sensors/%c/#, public/#"   filters a client may publish to
//   subscribe = "public/#, alerts/%u"    filters a client may subscribe with
//   cache-ms = "60000"                   how long the broker may reuse a decision
//
// `%c` stands for the client identifier and `%u` for the user name (a client without one
// matches no rule that names `%u`; one whose identifier or user name holds `+` or `#`
// matches no rule that names it, as in Mosquitto). Built against the `authz-plugin` world of
// plugins/wit/skein-plugin.wit: README.md says how.

import { log } from 'skein:plugin/log@0.1.0';

// The rules `init` read. Each instance of the plugin has its own copy.
let rules = { publish: [], subscribe: [], cacheMs: 60000 };

function filters(value) {
  return value
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
}

// Whether the topic filter `filter` matches `name`, level by level (MQTT 5.0 4.7); `name` may
// be a filter itself (a subscription): its `+` or `#` is matched only by the same wildcard in
// `filter` or by `#` (skein-plugin-sdk's `matches`).
function matches(filter, name) {
  const levels = name.split('/');
  const parts = filter.split('/');
  let i = 0;
  for (const part of parts) {
    if (part === '#') {
      return true;
    }
    if (i >= levels.length) {
      return false;
    }
    const level = levels[i++];
    if (!((part === '+' && level !== '#') || part === level)) {
      return false;
    }
  }
  return i === levels.length;
}

// Whether a value put in a rule would add a wildcard to it.
function wild(value) {
  return value.includes('+') || value.includes('#');
}

// `rule` with `%c` and `%u` put in; null when it names `%u` and there is no user name, or a
// value it names holds a wildcard.
function expand(rule, clientId, username) {
  if (rule.includes('%c') && wild(clientId)) {
    return null;
  }
  const withClient = rule.replaceAll('%c', clientId);
  if (!withClient.includes('%u')) {
    return withClient;
  }
  return username == null || wild(username) ? null : withClient.replaceAll('%u', username);
}

function decide(list, client, name) {
  // Pulled from the host once per call, and the user name only when a rule needs it.
  const clientId = client.clientId();
  const username = list.some((rule) => rule.includes('%u')) ? client.username() : undefined;
  for (const rule of list) {
    const expanded = expand(rule, clientId, username);
    if (expanded !== null && matches(expanded, name)) {
      return { tag: 'allow', val: rules.cacheMs };
    }
  }
  return {
    tag: 'deny',
    val: { code: 'not-authorized', reason: undefined, cache: rules.cacheMs },
  };
}

export const plugin = {
  // `result<plugin-info, string>`: a returned value is `ok`, a thrown one `err`.
  init(config) {
    const next = { publish: [], subscribe: [], cacheMs: 60000 };
    for (const [key, value] of config) {
      if (key === 'publish') {
        next.publish = filters(value);
      } else if (key === 'subscribe') {
        next.subscribe = filters(value);
      } else if (key === 'cache-ms') {
        const ms = Number(value);
        if (!/^\d+$/.test(value.trim()) || ms > 0xffffffff) {
          throw `cache-ms: "${value}" is not a number of milliseconds`;
        }
        next.cacheMs = ms;
      } else {
        throw `unknown configuration key "${key}"`;
      }
    }
    rules = next;
    log('info', `${rules.publish.length} publish rule(s), ${rules.subscribe.length} subscribe rule(s)`);
    return {
      name: 'js-acl',
      version: '0.1.0',
      publishFilters: [],
      subscribeFilters: [],
      events: [],
    };
  },
};

export const authz = {
  authorizePublish(client, topic, _qos, _retain) {
    return decide(rules.publish, client, topic);
  },
  authorizeSubscribe(client, filter, _qos) {
    return decide(rules.subscribe, client, filter);
  },
};
