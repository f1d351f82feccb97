package schemas_test

import (
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

func BenchmarkLeadAppendJSON(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	buf := lead.AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = lead.AppendJSON(buf[:0])
	}
}

func BenchmarkLeadMarshalJSON(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lead.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContactAppendJSON(b *testing.B) {
	c := schemas.GuideJohnDoe()
	buf := c.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendJSON(buf[:0])
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	lead := schemas.GuideNetcontrolLead()
	subjects := make([][]byte, 100)
	for i := range subjects {
		subjects[i] = lead.AppendJSON(nil)
	}
	buf := schemas.AppendPayload(nil, schemas.EventNewLead, subjects)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = schemas.AppendPayload(buf[:0], schemas.EventNewLead, subjects)
	}
}

func BenchmarkHit(b *testing.B) {
	ev := schemas.GuideNetcontrolEvent()
	h := ev.Hit()
	h.CompanyDomain, h.NetworkType, h.Browser, h.OperatingSystem, h.DeviceType = "netcontrol.com", "business", "Safari", "Mac OS", "desktop"
	loc := schemas.GuideNetcontrolVisitorLocation()
	h.Location = &loc
	data := h.AppendJSON(nil)
	b.Run("FromEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ev.Hit()
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		buf := data[:0:0]
		b.ReportAllocs()
		for b.Loop() {
			buf = h.AppendJSON(buf[:0])
		}
	})
	b.Run("UnmarshalJSON", func(b *testing.B) {
		var back schemas.Hit
		b.ReportAllocs()
		for b.Loop() {
			if err := back.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
