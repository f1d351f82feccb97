package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The control topic's records:
//
//	key   KIND/WORKSPACE/ID          e.g. "webhook/ws_123/wh_k2j4n5b6c7d8e9f0g1h2"
//	value the entity as JSON         the admin API's form; a webhook's secret is
//	                                 under "secret" as {"alg": "A256GCM", "key_id",
//	                                 "nonce", "ciphertext"} or {"alg": "none",
//	                                 "plaintext"}, and "has_secret" is ignored
//	nil   tombstone: the entity was deleted (compaction drops it later)
//
// Readers ignore kinds they do not know (a newer writer may add some) and
// fields they do not know, so the format can grow by adding.

// errBadRecord is wrapped by every record that cannot be decoded.
var errBadRecord = errors.New("control: bad record")

// parseKey splits a record key into a Ref.
func parseKey(key []byte) (Ref, error) {
	kind, rest, ok1 := strings.Cut(string(key), "/")
	ws, id, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || ws == "" || id == "" || strings.Contains(id, "/") {
		return Ref{}, fmt.Errorf("%w: key %q is not KIND/WORKSPACE/ID", errBadRecord, key)
	}
	return Ref{Kind(kind), ws, id}, nil
}

// webhookRecord is a Webhook as stored: the API form plus the sealed secret.
type webhookRecord struct {
	webhookJSON
	Secret *sealedSecret `json:"secret,omitempty"`
	// PreviousSecret is Webhook.PreviousSecret, sealed with the record
	// key and "#previous" as additional data.
	PreviousSecret *sealedSecret `json:"previous_secret,omitempty"`
}

// previousAAD is the additional data of a webhook's previous secret: not
// the record key alone, so that the two sealed secrets cannot be swapped.
func previousAAD(key string) string { return key + "#previous" }

// encode returns e's record value.
func (kr *keyring) encode(e Entity) ([]byte, error) {
	if w, ok := e.(Webhook); ok {
		sealed, err := kr.seal(w.Secret, w.Ref().Key())
		if err != nil {
			return nil, err
		}
		prev, err := kr.seal(w.PreviousSecret, previousAAD(w.Ref().Key()))
		if err != nil {
			return nil, err
		}
		return marshal(webhookRecord{w.apiJSON(), sealed, prev})
	}
	return marshal(e)
}

// decode reads the record value of r. A webhook whose secret cannot be
// opened is an error wrapping ErrSecretKey; the second result then says
// whether its secret is sealed with the primary key (false: Reseal
// rewrites it).
func (kr *keyring) decode(r Ref, value []byte) (Entity, bool, error) {
	var e Entity
	fresh := true
	switch r.Kind {
	case KindWebhook:
		var rec webhookRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", errBadRecord, r, err)
		}
		secret, err := kr.open(rec.Secret, r.Key())
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", r, err)
		}
		previous, err := kr.open(rec.PreviousSecret, previousAAD(r.Key()))
		if err != nil {
			return nil, false, fmt.Errorf("%s previous secret: %w", r, err)
		}
		fresh = kr.sealedWithPrimary(rec.Secret) && kr.sealedWithPrimary(rec.PreviousSecret)
		j := rec.webhookJSON
		w := Webhook{
			ID: j.ID, WorkspaceID: j.WorkspaceID, URL: j.URL, Name: j.Name, Secret: secret,
			MaxSubjects: j.MaxSubjects, LegacyEventNames: j.LegacyEventNames, Enabled: j.Enabled,
			MaxInFlight: j.MaxInFlight, RateLimit: j.RateLimit,
			CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		}
		if j.DisabledReason != nil {
			w.DisabledReason = *j.DisabledReason
		}
		if !previous.IsZero() && j.PreviousSecretExpiresAt != nil {
			w.PreviousSecret, w.PreviousSecretExpires = previous, *j.PreviousSecretExpiresAt
		}
		e = w
	case KindSegment:
		var s Segment
		err := json.Unmarshal(value, &s)
		e = s
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", errBadRecord, r, err)
		}
	case KindPersona:
		var p Persona
		err := json.Unmarshal(value, &p)
		e = p
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", errBadRecord, r, err)
		}
	case KindAutomation:
		var a Automation
		err := json.Unmarshal(value, &a)
		e = a
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", errBadRecord, r, err)
		}
	default:
		return nil, false, nil // a kind this version does not know
	}
	if got := e.Ref(); got != r {
		return nil, false, fmt.Errorf("%w: key %s holds %s", errBadRecord, r, got)
	}
	return e, fresh, nil
}
