package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("invalid configuration")

// FieldError is a configuration value that is out of range or malformed.
// Field is the full dotted YAML path, e.g. "stages.enrich.runtime.max_batch_records".
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// Unwrap makes every FieldError match ErrInvalidConfig.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// Limit is one bounded setting checked by CheckLimits.
type Limit struct {
	field string
	ok    bool
	rng   string
	value string
}

// IntLimit bounds an integer setting to [lo, hi].
func IntLimit[T ~int | ~int16 | ~int32 | ~int64](field string, v, lo, hi T) Limit {
	return Limit{field: field, ok: v >= lo && v <= hi, rng: fmt.Sprintf("between %d and %d", lo, hi), value: fmt.Sprint(v)}
}

// DurationLimit bounds a duration setting to [lo, hi].
func DurationLimit(field string, v, lo, hi time.Duration) Limit {
	return Limit{field: field, ok: v >= lo && v <= hi, rng: fmt.Sprintf("between %s and %s", lo, hi), value: v.String()}
}

// FloatLimit bounds a float setting to [lo, hi].
func FloatLimit(field string, v, lo, hi float64) Limit {
	return Limit{field: field, ok: v >= lo && v <= hi, rng: fmt.Sprintf("between %g and %g", lo, hi), value: fmt.Sprint(v)}
}

// CheckLimits walks limits and returns one *FieldError per limit that is
// broken, each naming section.field, the value and the allowed range.
func CheckLimits(section string, limits ...Limit) error {
	var errs []error
	for _, l := range limits {
		if !l.ok {
			errs = append(errs, &FieldError{Field: join(section, l.field), Reason: fmt.Sprintf("%s is out of range: must be %s", l.value, l.rng)})
		}
	}
	return errors.Join(errs...)
}
