package leadstore

import (
	"encoding/binary"
	"errors"

	"github.com/leadflow/leadflow/schemas"
)

// FormatV1 is the version byte every field of a lead's hash starts with.
const FormatV1 = 1

// ErrCorrupt is returned for a stored value that does not decode.
var ErrCorrupt = errors.New("stored lead state does not decode")

// SessionMeta are a session's facts taken from its first hit, stored in
// its MetaField; immutable once written.
type SessionMeta struct {
	Source, Browser, Device, OS *string
	Loc                         schemas.Location
	UTM                         schemas.SessionFacts
}

// Pageview is one kept page view, stored in its PageviewField; immutable
// (its time_spent is in the leads stage's head). VisitedAt is in unix
// microseconds.
type Pageview struct {
	URL, Host, Path string
	VisitedAt       int64
}

// AppendMeta appends the encoding of a session's facts.
func AppendMeta(dst []byte, m *SessionMeta) []byte {
	dst = append(dst, FormatV1)
	dst = AppendNullStr(dst, m.Source)
	dst = AppendNullStr(dst, m.Browser)
	dst = AppendNullStr(dst, m.Device)
	dst = AppendNullStr(dst, m.OS)
	dst = AppendNullStr(dst, m.Loc.City)
	dst = AppendNullStr(dst, m.Loc.CountryCode)
	dst = AppendNullStr(dst, m.Loc.Region)
	dst = AppendNullFloat(dst, m.Loc.Latitude)
	dst = AppendNullFloat(dst, m.Loc.Longitude)
	dst = AppendStr(dst, m.UTM.UTMSource)
	dst = AppendStr(dst, m.UTM.UTMMedium)
	dst = AppendStr(dst, m.UTM.UTMCampaign)
	dst = AppendStr(dst, m.UTM.UTMTerm)
	return AppendStr(dst, m.UTM.UTMContent)
}

// DecodeMeta decodes a session's facts (AppendMeta) into m; on error
// (ErrCorrupt) m is partly set.
func DecodeMeta(m *SessionMeta, raw string) error {
	d := NewDecoder([]byte(raw))
	if err := decodeMeta(&d, m); err != nil {
		return err
	}
	return d.Done()
}

// decodeMeta reads a session's facts (AppendMeta) from d into m. Its
// strings and coordinates share one allocation (metaValues).
func decodeMeta(d *Decoder, m *SessionMeta) error {
	if d.Byte() != FormatV1 {
		return ErrCorrupt
	}
	v := new(metaValues)
	for i, p := range [...]**string{&m.Source, &m.Browser, &m.Device, &m.OS, &m.Loc.City, &m.Loc.CountryCode, &m.Loc.Region} {
		*p = nil
		if s, ok := d.nullStr(); ok {
			v.strs[i], *p = s, &v.strs[i]
		}
	}
	for i, p := range [...]**float64{&m.Loc.Latitude, &m.Loc.Longitude} {
		*p = nil
		if f, ok := d.nullFloat(); ok {
			v.coords[i], *p = f, &v.coords[i]
		}
	}
	m.UTM.UTMSource = d.Str()
	m.UTM.UTMMedium = d.Str()
	m.UTM.UTMCampaign = d.Str()
	m.UTM.UTMTerm = d.Str()
	m.UTM.UTMContent = d.Str()
	return d.Err()
}

// metaValues holds what a decoded SessionMeta's pointers point to.
type metaValues struct {
	strs   [7]string
	coords [2]float64
}

// AppendPageview appends the encoding of a pageview in a field of its
// own, as leads stored before chunks (PageviewChunk); still read. The
// host and the path are usually parts of the URL and then stored as
// positions.
func AppendPageview(dst []byte, pv *Pageview) []byte {
	dst = append(dst, FormatV1)
	dst = AppendStr(dst, pv.URL)
	dst = appendHostPath(dst, pv)
	return binary.AppendVarint(dst, pv.VisitedAt)
}

// DecodePageview decodes a pageview (AppendPageview); its host and path
// share the URL's memory when they were stored as positions.
func DecodePageview(raw string) (*Pageview, error) {
	d := NewDecoder([]byte(raw))
	if d.Byte() != FormatV1 {
		return nil, ErrCorrupt
	}
	pv := &Pageview{URL: d.Str()}
	if err := decodeHostPath(&d, pv); err != nil {
		return nil, err
	}
	pv.VisitedAt = d.Varint()
	if err := d.Done(); err != nil {
		return nil, err
	}
	return pv, nil
}
