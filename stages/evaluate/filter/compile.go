package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/schemas"
)

// Filter is a compiled FILTER (DESIGN 1.4): a segment's test of a lead
// change. It is immutable; Match may be called from many goroutines at once.
type Filter struct {
	root     node
	sessions bool // a condition tests a field of the recent sessions
	other    bool // a condition tests a field outside the lead's company
}

// Compile parses and checks a FILTER document and compiles it into a
// Filter. A mistake is reported as a *Error naming its place in the tree;
// the package documentation gives the language and its semantics.
//
// Compile is not on the hot path: compile each filter once, when its
// segment is created or changed, and reuse the Filter.
func Compile(raw []byte) (*Filter, error) {
	if len(raw) > MaxBytes {
		return nil, errorf(RootPath, fmt.Sprintf("the filter is %d bytes; the limit is %d (MaxBytes)", len(raw), MaxBytes))
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, errorf(RootPath, err.Error())
	}
	var c compiler
	root, err := c.node(&v, RootPath, 1)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root, sessions: c.sessions, other: c.other}, nil
}

// MustCompile is Compile for filters known to be valid (tests, built-in
// segments); it panics on an error.
func MustCompile(raw string) *Filter {
	f, err := Compile([]byte(raw))
	if err != nil {
		panic("filter: MustCompile: " + err.Error())
	}
	return f
}

// ReadsSessions reports whether Match reads ch.Lead.RecentSessions (a
// condition tests a session.* field other than the UTM ones). When it does
// not, Match gives the same result on a change decoded without its
// sessions (schemas.DecodeChangeWithoutSessions). A nil *Filter reads
// nothing.
func (f *Filter) ReadsSessions() bool { return f != nil && f.sessions }

// ReadsOnlyCompany reports whether Match reads nothing of ch but
// ch.Lead.Company (every condition tests a company.* field), so that its
// result for a lead changes only when the lead's company data does. A nil
// *Filter reads nothing and reports false (it needs no caching).
func (f *Filter) ReadsOnlyCompany() bool { return f != nil && !f.other }

// Match reports whether ch satisfies the filter. A nil *Filter matches
// every change (an automation without a segment). ch must not be nil. Match
// does not allocate and does not modify ch.
func (f *Filter) Match(ch *schemas.LeadChange) bool {
	if f == nil {
		return true
	}
	return f.root.eval(ch)
}

// compiler holds the state of one Compile call.
type compiler struct {
	nodes    int
	sessions bool // a condition names a field that readsSessions
	other    bool // a condition names a field that is not readsOnlyCompany
}

// Keys of a node.
const (
	keyAll   = "all"
	keyAny   = "any"
	keyNot   = "not"
	keyField = "field"
	keyOp    = "op"
	keyValue = "value"
)

const nodeShapes = `a group {"all": [...]}, {"any": [...]} or {"not": {...}}, ` +
	`or a condition {"field": ..., "op": ..., "value": ...}`

// node compiles the group or condition v at path, depth levels deep.
func (c *compiler) node(v *jsonValue, path string, depth int) (node, error) {
	if err := c.count(path, depth); err != nil {
		return nil, err
	}
	if v.kind != jsonObject {
		return nil, errorf(path, "want an object: "+nodeShapes+"; got "+v.describe())
	}
	group, cond, err := nodeKeys(v, path)
	if err != nil {
		return nil, err
	}
	switch {
	case len(group) > 0 && len(cond) > 0:
		return nil, errorf(path, fmt.Sprintf(
			"has both %q and %q: a node is either a group (all, any or not) or a condition (field, op, value)",
			group[0], cond[0]))
	case len(group) > 1:
		return nil, errorf(path, fmt.Sprintf(
			"has both %q and %q: a group has exactly one of all, any, not; nest one inside the other", group[0], group[1]))
	case len(cond) > 0:
		return c.cond(v, path)
	case len(group) == 0:
		return nil, errorf(path, "empty object: want "+nodeShapes)
	}
	key := group[0]
	sub := v.member(key)
	subPath := path + "." + key
	if key == keyNot {
		n, err := c.node(sub, subPath, depth+1)
		if err != nil {
			return nil, err
		}
		return negateNode(n), nil
	}
	return c.group(key, sub, subPath, depth)
}

// count counts a node at path, depth levels deep, and rejects it when
// the filter is nested deeper than MaxDepth or has more than MaxNodes.
func (c *compiler) count(path string, depth int) error {
	if depth > MaxDepth {
		return errorf(path, fmt.Sprintf("nested deeper than %d levels (MaxDepth)", MaxDepth))
	}
	c.nodes++
	if c.nodes > MaxNodes {
		return errorf(path, fmt.Sprintf("the filter has more than %d nodes (MaxNodes)", MaxNodes))
	}
	return nil
}

// nodeKeys sorts the keys of the object v at path into group keys (all,
// any, not) and condition keys (field, op, value), rejecting a duplicate
// or unknown key.
func nodeKeys(v *jsonValue, path string) (group, cond []string, err error) {
	for i, m := range v.obj {
		for _, prev := range v.obj[:i] {
			if prev.key == m.key {
				return nil, nil, errorf(path+"."+m.key, "duplicate key")
			}
		}
		switch m.key {
		case keyAll, keyAny, keyNot:
			group = append(group, m.key)
		case keyField, keyOp, keyValue:
			cond = append(cond, m.key)
		default:
			return nil, nil, errorf(path+"."+m.key, fmt.Sprintf(
				"unknown key %q: a group has one of all, any, not; a condition has field, op, value", m.key))
		}
	}
	return group, cond, nil
}

// group compiles the all or any group (key) whose members are the array
// sub at subPath, the group being depth levels deep.
func (c *compiler) group(key string, sub *jsonValue, subPath string, depth int) (node, error) {
	if sub.kind != jsonArray {
		return nil, errorf(subPath, "want an array of conditions and groups, got "+sub.describe())
	}
	children := make([]node, 0, len(sub.arr))
	for i := range sub.arr {
		n, err := c.node(&sub.arr[i], subPath+"["+strconv.Itoa(i)+"]", depth+1)
		if err != nil {
			return nil, err
		}
		// Flatten all-in-all and any-in-any: same result, fewer calls.
		switch t := n.(type) {
		case allNode:
			if key == keyAll {
				children = append(children, t...)
				continue
			}
		case anyNode:
			if key == keyAny {
				children = append(children, t...)
				continue
			}
		}
		children = append(children, n)
	}
	// Conditions have no side effects, so the order of evaluation does not
	// change the result: try the cheap ones first. Stable, so equal costs
	// keep the user's order.
	slices.SortStableFunc(children, func(a, b node) int { return a.cost() - b.cost() })
	if key == keyAll {
		return allNode(children), nil
	}
	return anyNode(children), nil
}

// member returns the value of key in object v, or nil.
func (v *jsonValue) member(key string) *jsonValue {
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val
		}
	}
	return nil
}

func (c *compiler) cond(v *jsonValue, path string) (node, error) {
	fv := v.member(keyField)
	if fv == nil {
		return nil, errorf(path+"."+keyField, `missing: a condition needs "field", "op" and, except for exists and not_exists, "value"`)
	}
	if fv.kind != jsonString {
		return nil, errorf(path+"."+keyField, "want a field name (a string), got "+fv.describe())
	}
	f := lookupField(fv.str)
	if f == nil {
		return nil, errorf(path+"."+keyField, unknownField(fv.str))
	}
	c.sessions = c.sessions || f.readsSessions()
	c.other = c.other || !f.readsOnlyCompany()
	ov := v.member(keyOp)
	if ov == nil {
		return nil, errorf(path+"."+keyOp, `missing: a condition needs "field", "op" and, except for exists and not_exists, "value"`)
	}
	if ov.kind != jsonString {
		return nil, errorf(path+"."+keyOp, "want an operator name (a string), got "+ov.describe())
	}
	op := lookupOp(ov.str)
	if op == nil {
		return nil, errorf(path+"."+keyOp, unknownOp(ov.str))
	}
	if op.types&typeBit(f.typ) == 0 {
		return nil, errorf(path+"."+keyOp, fmt.Sprintf("operator %q does not apply to %s field %q; its operators are %s",
			op.name, f.typ, f.name, strings.Join(operatorsFor(f), ", ")))
	}
	vpath := path + "." + keyValue
	val := v.member(keyValue)
	if op.code == opExists {
		if val != nil && val.kind != jsonNull {
			return nil, errorf(vpath, op.name+` takes no value: leave "value" out`)
		}
		return existsNode(f, op.negate), nil
	}
	if val == nil {
		return nil, errorf(vpath, fmt.Sprintf("missing: %s on %q needs %s", op.name, f.name, wantValue(op, f)))
	}
	b := condBuilder{f: f, op: op, path: vpath}
	switch f.typ {
	case TypeNumber:
		return b.number(val, f.num)
	case TypeTime:
		return b.time(val)
	case TypeYear:
		if b.yearIsNumeric(val) {
			return b.number(val, f.num)
		}
	}
	m, err := b.strMatcher(val)
	if err != nil {
		return nil, err
	}
	if f.pv != nil {
		return &pvCond{get: f.pv, m: m, negate: op.negate}, nil
	}
	return &strCond{get: f.str, m: m, negate: op.negate}, nil
}

// existsNode tests whether f's value is present.
func existsNode(f *fieldSpec, negate bool) node {
	switch {
	case f.pv != nil:
		return &pvCond{get: f.pv, m: strMatcher{op: opExists}, negate: negate}
	case f.str != nil:
		return &strCond{get: f.str, m: strMatcher{op: opExists}, negate: negate}
	case f.num != nil:
		return &numCond{get: f.num, op: opExists, negate: negate}
	default:
		return &timeCond{get: f.tim, op: opExists, negate: negate}
	}
}

// wantValue describes the value op takes on field f.
func wantValue(op *opSpec, f *fieldSpec) string {
	one := "a non-empty string"
	switch {
	case f.typ == TypeNumber:
		one = "a number"
	case f.typ == TypeTime:
		one = `a time (RFC 3339 such as "2024-05-15T10:55:50Z", a date "2024-05-15", or a number of Unix seconds)`
	case f.typ == TypeYear && op.types&tString == 0:
		one = `a year: a number, or a string of digits such as "1991"`
	case f.typ == TypeYear && op.code != opContains && op.code != opStartsWith && op.code != opEndsWith && op.code != opMatches:
		one = "a non-empty string or a number (a year)"
	}
	switch op.code {
	case opIn:
		return fmt.Sprintf("a non-empty array of at most %d values, each %s", MaxListValues, one)
	case opBetween:
		return "[lo, hi]: an array of two values with lo <= hi, each " + one
	case opMatches:
		return fmt.Sprintf("a Go (RE2) regular expression of at most %d bytes", MaxRegexpBytes)
	}
	return one
}

// unknownField is the message for an unknown field name.
func unknownField(name string) string {
	names := make([]string, len(fieldTable))
	for i := range fieldTable {
		names[i] = fieldTable[i].name
	}
	msg := fmt.Sprintf("unknown field %q", name)
	if s := suggest(name, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + "; fields are company.*, company.geo.*, company.profiles.*, lead.* and session.* as listed in the API documentation"
}

// unknownOp is the message for an unknown operator name.
func unknownOp(name string) string {
	names := make([]string, len(opTable))
	for i := range opTable {
		names[i] = opTable[i].name
	}
	msg := fmt.Sprintf("unknown operator %q", name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + "; operators are " + strings.Join(names, ", ")
}

// suggest returns the candidate closest to name: one that ends with
// "."+name, or one within a small edit distance; "" if none is close.
func suggest(name string, candidates []string) string {
	if name == "" {
		return ""
	}
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if c == lower || strings.HasSuffix(c, "."+lower) {
			return c
		}
	}
	best, bestD := "", len(lower)/3+1
	for _, c := range candidates {
		if d := editDistance(lower, c); d <= bestD && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
