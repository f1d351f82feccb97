package filter

// Operator describes one operator, for the admin API's documentation. See
// Operators.
type Operator struct {
	// Name is the operator as written in "op", e.g. "not_in".
	Name string `json:"name"`
	// Value describes the "value" it takes.
	Value string `json:"value"`
	// Takes is the value's shape: "one" value, a "list" of values, a
	// "pair" [lo, hi], or "none". The console's segment builder picks its
	// inputs by it.
	Takes string `json:"takes"`
	// Negates names the operator this one is the negation of ("" if none):
	// neq, not_in, not_contains and not_exists are true exactly when their
	// positive form is false, also on a missing value.
	Negates string `json:"negates,omitempty"`
	// Types are the field types it applies to.
	Types []FieldType `json:"types"`
	// Doc says what it tests.
	Doc string `json:"doc"`
}

// Operators returns every operator in a stable order. The caller owns the
// returned slice.
func Operators() []Operator {
	out := make([]Operator, len(opTable))
	for i, o := range opTable {
		out[i] = Operator{Name: o.name, Value: o.value, Takes: o.takes(), Doc: o.doc}
		if o.negate {
			out[i].Negates = positiveName(o.code)
		}
		for _, t := range []FieldType{TypeString, TypeNumber, TypeTime, TypeYear} {
			if o.types&typeBit(t) != 0 {
				out[i].Types = append(out[i].Types, t)
			}
		}
	}
	return out
}

// opCode is the positive test an operator performs; negative operators are
// a positive code with negate set.
type opCode uint8

const (
	opEq opCode = iota + 1
	opIn
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opGt
	opGte
	opLt
	opLte
	opBetween
	opExists
)

// typeSet is a set of FieldTypes.
type typeSet uint8

const (
	tString typeSet = 1 << iota
	tNumber
	tTime
	tYear
)

func typeBit(t FieldType) typeSet {
	switch t {
	case TypeString:
		return tString
	case TypeNumber:
		return tNumber
	case TypeTime:
		return tTime
	default:
		return tYear
	}
}

type opSpec struct {
	name   string
	code   opCode
	negate bool
	types  typeSet
	value  string
	doc    string
}

const (
	tAll    = tString | tNumber | tTime | tYear
	tText   = tString | tYear
	tScalar = tString | tNumber | tYear
	tOrder  = tNumber | tTime | tYear
)

// opTable lists every operator. It is read-only.
var opTable = [...]opSpec{
	{"eq", opEq, false, tScalar, "a string (number fields: a number; founded_year: either)",
		"equal; strings ignore case"},
	{"neq", opEq, true, tScalar, "as eq", "not eq: true when the value differs or is missing"},
	{"in", opIn, false, tScalar, "a non-empty array of up to 1000 values, each as for eq",
		"equal to one of the values; strings ignore case"},
	{"not_in", opIn, true, tScalar, "as in", "not in: true when the value is none of them or is missing"},
	{"contains", opContains, false, tText, "a non-empty string", "contains the string, ignoring case"},
	{"not_contains", opContains, true, tText, "a non-empty string",
		"not contains: true when the value lacks the string or is missing"},
	{"starts_with", opStartsWith, false, tText, "a non-empty string", "starts with the string, ignoring case"},
	{"ends_with", opEndsWith, false, tText, "a non-empty string", "ends with the string, ignoring case"},
	{"matches", opMatches, false, tText, "a Go (RE2) regexp of at most 1024 bytes",
		"the regexp matches somewhere in the value (anchor it with ^ and $); case-sensitive unless it starts with (?i)"},
	{"gt", opGt, false, tOrder, "a number (time fields: a time)", "greater than"},
	{"gte", opGte, false, tOrder, "a number (time fields: a time)", "greater than or equal"},
	{"lt", opLt, false, tOrder, "a number (time fields: a time)", "less than"},
	{"lte", opLte, false, tOrder, "a number (time fields: a time)", "less than or equal"},
	{"between", opBetween, false, tOrder, "[lo, hi] with lo <= hi (time fields: two times)",
		"lo <= value <= hi (inclusive)"},
	{"exists", opExists, false, tAll, "none (leave value out, or null)", "the value is present: not null, not empty"},
	{"not_exists", opExists, true, tAll, "none (leave value out, or null)", "the value is null or empty"},
}

// takes is the shape of the operator's value (Operator.Takes).
func (o opSpec) takes() string {
	switch o.code {
	case opIn:
		return "list"
	case opBetween:
		return "pair"
	case opExists:
		return "none"
	}
	return "one"
}

func lookupOp(name string) *opSpec {
	for i := range opTable {
		if opTable[i].name == name {
			return &opTable[i]
		}
	}
	return nil
}

func positiveName(c opCode) string {
	for _, o := range opTable {
		if o.code == c && !o.negate {
			return o.name
		}
	}
	return ""
}

// operatorsFor lists the operators field f accepts.
func operatorsFor(f *fieldSpec) []string {
	var out []string
	bit := typeBit(f.typ)
	for _, o := range opTable {
		if o.types&bit != 0 {
			out = append(out, o.name)
		}
	}
	return out
}
