package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/traffic"
)

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// planClasses assigns an endpoint class to each of nws*nrules webhooks:
// round(slow*n) slow and round(failing*n) failing ones, spread by a
// seeded shuffle, the rest healthy.
func planClasses(nws, nrules int, slow, failing float64, seed int64) []uint8 {
	n := nws * nrules
	classes := make([]uint8, n)
	nslow := int(math.Round(slow * float64(n)))
	nfail := int(math.Round(failing * float64(n)))
	order := mrand.New(mrand.NewPCG(uint64(seed), 0x656e64)).Perm(n) // "end"
	for i, idx := range order {
		switch {
		case i < nslow:
			classes[idx] = classSlow
		case i < nslow+nfail:
			classes[idx] = classFailing
		}
	}
	return classes
}

// hookPath is the receiver path of a webhook: /hooks/RUN/CLASS/WS/RULE.
func hookPath(runID string, class uint8, ws, rule int) string {
	return "/hooks/" + runID + "/" + classNames[class] + "/" + strconv.Itoa(ws) + "/" + strconv.Itoa(rule)
}

// setupConcurrency is how many workspaces are set up at once.
const setupConcurrency = 16

// setupWorkspaces creates, in every workspace of gen, one webhook per
// rule (pointing at the receiver), a segment for rules with one, a persona
// for rules that reveal contacts, and the automation. It stops at the
// first error.
func setupWorkspaces(ctx context.Context, api *adminapi.Client, gen *traffic.Generator, rules []traffic.Rule,
	classes []uint8, receiverURL, runID, secret string, maxSubjects int, progress func(done, total int)) error {
	nws := gen.Config().Workspaces
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for range min(setupConcurrency, nws) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ws := range work {
				err := setupWorkspace(ctx, api, gen.WorkspaceID(ws), ws, rules, classes, receiverURL, runID, secret, maxSubjects)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				done++
				if progress != nil {
					progress(done, nws)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for ws := range nws {
		select {
		case work <- ws:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func setupWorkspace(ctx context.Context, api *adminapi.Client, wsID string, ws int, rules []traffic.Rule, classes []uint8,
	receiverURL, runID, secret string, maxSubjects int) error {
	for ri, r := range rules {
		class := classes[ws*len(rules)+ri]
		whID, err := api.CreateWebhook(ctx, wsID, adminapi.Webhook{
			URL:  receiverURL + hookPath(runID, class, ws, ri),
			Name: fmt.Sprintf("bench %s %s #%d", runID, classNames[class], ri+1), Secret: secret, MaxSubjects: maxSubjects,
		})
		if err != nil {
			return fmt.Errorf("bench: setting up %s: %w", wsID, err)
		}
		a := adminapi.Automation{Name: automationName(ri, r), Trigger: r.Trigger,
			Action: adminapi.Action{Type: adminapi.ActionWebhook, WebhookID: whID}}
		if r.Reveal != nil {
			if a.Action, err = setupReveal(ctx, api, wsID, ri, r.Reveal, whID); err != nil {
				return fmt.Errorf("bench: setting up %s: %w", wsID, err)
			}
		}
		if f := r.Filter(); f != nil {
			if a.SegmentID, err = api.CreateSegment(ctx, wsID, adminapi.Segment{Name: fmt.Sprintf("bench #%d industries", ri+1), Filter: f}); err != nil {
				return fmt.Errorf("bench: setting up %s: %w", wsID, err)
			}
		}
		if _, err := api.CreateAutomation(ctx, wsID, a); err != nil {
			return fmt.Errorf("bench: setting up %s: %w", wsID, err)
		}
	}
	return nil
}

// setupReveal creates the persona of rule ri's reveal action in workspace
// wsID and returns the reveal_contacts action that sends the contacts to
// webhook whID.
func setupReveal(ctx context.Context, api *adminapi.Client, wsID string, ri int, rv *traffic.Reveal, whID string) (adminapi.Action, error) {
	personaID, err := api.CreatePersona(ctx, wsID, adminapi.Persona{
		Name:        fmt.Sprintf("bench #%d persona", ri+1),
		JobTitles:   []string{},
		Seniorities: append([]string{}, rv.Seniorities...),
		Departments: append([]string{}, rv.Departments...),
		Countries:   []string{},
	})
	if err != nil {
		return adminapi.Action{}, err
	}
	return adminapi.Action{Type: adminapi.ActionRevealContacts, PersonaID: personaID, RevealLimit: rv.Limit, WebhookIDs: []string{whID}}, nil
}

// maxNameLen is the admin API's bound on a name, in characters (a longer
// one is a 422).
const maxNameLen = 200

// automationName names rule ri's automation "bench #N: DESCRIPTION", cut
// to maxNameLen bytes (so at most as many characters) at a character
// boundary and ended with "…" when cut; a reveal rule's description is
// longer than the bound.
func automationName(ri int, r traffic.Rule) string {
	name := fmt.Sprintf("bench #%d: %s", ri+1, describeRule(r))
	if len(name) <= maxNameLen {
		return name
	}
	name = name[:maxNameLen-len("…")]
	for !utf8.ValidString(name) {
		name = name[:len(name)-1]
	}
	return name + "…"
}
