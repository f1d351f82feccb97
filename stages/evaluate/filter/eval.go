package filter

import (
	"regexp"
	"strings"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// This file holds the compiled nodes. Every condition is a positive test
// that is false on a missing value, XOR its negate flag: neq, not_in,
// not_contains and not_exists are exactly the negation of eq, in, contains
// and exists, so they are true on a missing value. Evaluation reads the
// LeadChange through accessors chosen at compile time, never allocates and
// never writes, so one Filter may be used by many goroutines at once.

// node is a compiled group or condition.
type node interface {
	// eval reports whether ch satisfies the node.
	eval(ch *schemas.LeadChange) bool
	// cost estimates eval's price, to try cheap conditions first.
	cost() int
}

// allNode is true when every child is; an empty allNode is true.
type allNode []node

func (n allNode) eval(ch *schemas.LeadChange) bool {
	for _, c := range n {
		if !c.eval(ch) {
			return false
		}
	}
	return true
}

func (n allNode) cost() int { return sumCost(n) }

// anyNode is true when some child is; an empty anyNode is false.
type anyNode []node

func (n anyNode) eval(ch *schemas.LeadChange) bool {
	for _, c := range n {
		if c.eval(ch) {
			return true
		}
	}
	return false
}

func (n anyNode) cost() int { return sumCost(n) }

// notNode negates a group; conditions under "not" flip their negate flag
// instead.
type notNode struct{ n node }

func (n notNode) eval(ch *schemas.LeadChange) bool { return !n.n.eval(ch) }
func (n notNode) cost() int                        { return n.n.cost() }

func sumCost(ns []node) int {
	c := 0
	for _, n := range ns {
		c += n.cost()
	}
	return c
}

// strMatcher is a positive string test; the value it gets is present (not
// missing, not empty).
type strMatcher struct {
	op opCode
	// n is the constant of eq, contains, starts_with and ends_with.
	n needle
	// list holds the values of a short "in"; set those of a long one,
	// keyed by foldHash, each bucket holding the values with that hash.
	list []string
	set  map[uint64][]string
	// re is the regexp of matches, pf its prefilter; when exact is set the
	// prefilter decides alone.
	re    *regexp.Regexp
	pf    prefilter
	exact bool
}

// shortList is the longest "in" list searched linearly; longer lists use
// a hash set. Measured on the benchmark's values: a scan of EqualFold is
// faster than foldHash plus a map lookup up to about this length.
const shortList = 8

func (m *strMatcher) match(v string) bool {
	switch m.op {
	case opEq:
		return m.n.equal(v)
	case opIn:
		if m.set != nil {
			for _, s := range m.set[foldHash(v)] {
				if strings.EqualFold(v, s) {
					return true
				}
			}
			return false
		}
		for _, s := range m.list {
			if strings.EqualFold(v, s) {
				return true
			}
		}
		return false
	case opContains:
		return m.n.containedIn(v)
	case opStartsWith:
		return m.n.prefixOf(v)
	case opEndsWith:
		return m.n.suffixOf(v)
	case opMatches:
		if !m.pf.ok(v) {
			return false
		}
		return m.exact || m.re.MatchString(v)
	case opExists:
		return true
	}
	return false
}

func (m *strMatcher) cost() int {
	switch m.op {
	case opExists:
		return 1
	case opEq, opStartsWith, opEndsWith:
		return 2
	case opIn:
		if m.set != nil {
			return 4
		}
		return 1 + len(m.list)
	case opContains:
		return 6
	default:
		return 20
	}
}

// strCond tests a string field.
type strCond struct {
	get    func(*schemas.LeadChange) (string, bool)
	m      strMatcher
	negate bool
}

func (c *strCond) eval(ch *schemas.LeadChange) bool {
	v, ok := c.get(ch)
	if !ok || v == "" {
		return c.negate
	}
	return c.m.match(v) != c.negate
}

func (c *strCond) cost() int { return c.m.cost() }

// pvCond tests the pageviews of the triggering session: the positive test
// holds when any pageview's value passes it, so the negative operators hold
// when no pageview does (also when there is no session or no pageview).
type pvCond struct {
	get    func(*schemas.Pageview) string
	m      strMatcher
	negate bool
}

func (c *pvCond) eval(ch *schemas.LeadChange) bool {
	s := trigger(ch)
	if s == nil {
		return c.negate
	}
	for i := range s.Pageviews {
		if v := c.get(&s.Pageviews[i]); v != "" && c.m.match(v) {
			return !c.negate
		}
	}
	return c.negate
}

func (c *pvCond) cost() int { return 4 * c.m.cost() }

// numCond tests a number field (or founded_year read as a number).
type numCond struct {
	get    func(*schemas.LeadChange) (float64, bool)
	op     opCode
	lo, hi float64
	// list holds the values of a short "in"; set those of a long one.
	list   []float64
	set    map[float64]struct{}
	negate bool
}

func (c *numCond) eval(ch *schemas.LeadChange) bool {
	v, ok := c.get(ch)
	if !ok {
		return c.negate
	}
	var r bool
	switch c.op {
	case opEq:
		r = v == c.lo
	case opIn:
		if c.set != nil {
			_, r = c.set[v]
		} else {
			for _, x := range c.list {
				if v == x {
					r = true
					break
				}
			}
		}
	case opGt:
		r = v > c.lo
	case opGte:
		r = v >= c.lo
	case opLt:
		r = v < c.lo
	case opLte:
		r = v <= c.lo
	case opBetween:
		r = c.lo <= v && v <= c.hi
	case opExists:
		r = true
	}
	return r != c.negate
}

func (c *numCond) cost() int { return 1 }

// timeCond tests a time field.
type timeCond struct {
	get    func(*schemas.LeadChange) (time.Time, bool)
	op     opCode
	lo, hi time.Time
	negate bool
}

func (c *timeCond) eval(ch *schemas.LeadChange) bool {
	v, ok := c.get(ch)
	if !ok {
		return c.negate
	}
	var r bool
	switch c.op {
	case opGt:
		r = v.After(c.lo)
	case opGte:
		r = !v.Before(c.lo)
	case opLt:
		r = v.Before(c.lo)
	case opLte:
		r = !v.After(c.lo)
	case opBetween:
		r = !v.Before(c.lo) && !v.After(c.hi)
	case opExists:
		r = true
	}
	return r != c.negate
}

func (c *timeCond) cost() int { return 1 }

// negateNode returns the negation of n: a condition with its negate flag
// flipped, the child of a notNode, or a new notNode.
func negateNode(n node) node {
	switch t := n.(type) {
	case *strCond:
		t.negate = !t.negate
		return t
	case *pvCond:
		t.negate = !t.negate
		return t
	case *numCond:
		t.negate = !t.negate
		return t
	case *timeCond:
		t.negate = !t.negate
		return t
	case notNode:
		return t.n
	}
	return notNode{n}
}
