package evaluate_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/control"
)

// Changes that are decoded and do not fire lend their decoded change to
// the next one of the batch: a change that fired must keep its own
// subject, whatever the changes after it in the batch decode into.
func TestDecodedChangesThatFireKeepTheirSubject(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_3pv"] = control.Segment{ID: "seg_3pv", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"lead.pageviews_count","op":"gte","value":3}`)}
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_lead", control.TriggerNewLead, "seg_3pv", "wh_a"))
	})
	h.run(t, "evaluate")
	lead := func(id, pageviews int64) schemas.LeadChange {
		ch := change(schemas.ChangeNewLead, "e"+strconv.FormatInt(id, 10), "s1", pageviews)
		ch.LeadKey = schemas.LeadKey(ws, "netcontrol-"+strconv.FormatInt(id, 10)+".com")
		ch.Lead.ID = id
		return ch
	}
	h.send(t, lead(1, 3), lead(2, 1), lead(3, 5), lead(4, 2), lead(5, 1), lead(6, 4), sentinel("end"))
	got := h.deliveries(t, 4)
	var ids []int64
	for _, r := range got {
		if r.AutomationID != "aut_lead" {
			continue
		}
		var l schemas.Lead
		if err := json.Unmarshal(r.Subject, &l); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{1, 3, 6}) {
		t.Fatalf("leads delivered %v, want 1, 3 and 6 (those with 3 pageviews or more)", ids)
	}
}
