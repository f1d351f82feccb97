// Package filter compiles segment filters (the FILTER language of DESIGN
// 1.4) into evaluators of lead changes, and evaluates them on the hot path
// without reflection, map lookups by name or allocations.
//
// # Language
//
// A FILTER is a JSON tree of nodes. A group is {"all": [NODE, ...]},
// {"any": [NODE, ...]} or {"not": NODE}; a condition is
// {"field": FIELD, "op": OP, "value": VALUE}. Fields name the lead as the
// new_lead webhook shows it (company.*, company.geo.*, company.profiles.*,
// lead.*), the session that triggered the change (session.*, with
// session.utm_* from its landing page) and that session's pageviews
// (session.pageviews.path, .url, .host). Fields and Operators list them for
// documentation.
//
// # Semantics
//
// Shape. The root may be a group or a bare condition. {"not": ...} takes a
// group or a condition. An empty "all" is true and an empty "any" is false
// (the identities of AND and OR). A node with both group and condition keys,
// with two group keys, an unknown or duplicate key, or no key is an error.
//
// Missing values. A value is missing when it is null or an empty string;
// every session.* field except the UTM ones is missing when the change has
// no session. Every operator is false on a missing value, except the
// negative ones: neq, not_in, not_contains and not_exists are exactly "not
// eq", "not in", "not contains" and "not exists", so they are true on a
// missing value (like SQL's IS DISTINCT FROM). To require a value as well,
// add an exists condition.
//
// Strings. eq, neq, in, not_in, contains, not_contains, starts_with and
// ends_with ignore case (Unicode simple case folding, as strings.EqualFold:
// "machinery" matches "Machinery"). matches takes a Go RE2 regexp, matches
// anywhere in the value unless anchored with ^ and $, and is case-sensitive
// unless the pattern starts with (?i). Empty strings are rejected as values:
// use exists and not_exists.
//
// Pageviews. session.pageviews.* conditions look at every pageview of the
// triggering session: a positive operator (eq, in, contains, starts_with,
// ends_with, matches, exists) holds when ANY pageview matches; a negative
// operator holds when NO pageview matches its positive form, so
// {"field": "session.pageviews.path", "op": "not_contains", "value":
// "/careers"} means "did not visit a careers page in this session", and
// holds for a session without pageviews. A pageview's path includes "?" and
// the query string as in the webhook, so prefer starts_with or contains to
// eq for paths.
//
// Numbers. Number fields take JSON numbers and compare as float64 (exact for
// integers up to 2^53). between [lo, hi] is inclusive and needs lo <= hi.
// in and not_in take up to MaxListValues values.
//
// company.founded_year is a string in the payload ("1991"). String values
// and the string operators compare it as text; gt, gte, lt, lte and between
// (with numbers or strings of digits), and eq, neq, in and not_in with
// numbers, compare it as an integer. A year that is not a plain integer is
// missing for the numeric comparisons.
//
// Times. lead.first_seen, lead.last_seen and session.started_at take gt,
// gte, lt, lte, between, exists and not_exists (no eq: instants rarely
// match exactly; use between). A time value is an RFC 3339 time
// ("2024-05-15T10:55:50Z", any offset, fractions allowed), a date
// ("2024-05-15", midnight UTC), the payload's session format
// ("2024-05-15 10:55:50", UTC) or a JSON number of Unix seconds.
//
// Limits. MaxBytes per document, MaxDepth levels, MaxNodes nodes,
// MaxRegexpBytes per pattern and MaxListValues per list. Every mistake is
// an *Error whose Path names the place in the tree, e.g.
// "filter.all[1].any[0].value".
//
// # Evaluation
//
// Compile resolves each field to an accessor and prepares every constant:
// numbers and times parsed, regexps compiled, strings case-prepared, long
// in lists hashed (fold-aware, so the subject is never lower-cased).
// Conditions carry no side effects, so within a group the cheap ones run
// first. A Filter is immutable and safe for concurrent use.
package filter
