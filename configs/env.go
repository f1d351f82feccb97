package configs

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/leadflow/leadflow/pipeline"
)

// EnvPrefix starts every environment variable that overrides a setting.
// The rest of the name is the setting's YAML path in upper case with "_"
// for ".": LEADFLOW_KAFKA_BROKERS is kafka.brokers,
// LEADFLOW_STAGES_ENRICH_RUNTIME_MAX_BATCH_RECORDS is
// stages.enrich.runtime.max_batch_records. Lists are comma separated.
const EnvPrefix = "LEADFLOW_"

// EnvNames lists every variable that overrides a setting, with its YAML path.
func EnvNames() map[string]string {
	out := map[string]string{}
	walk(reflect.ValueOf(&Config{}).Elem(), "", func(path string, _ reflect.Value) {
		out[envName(path)] = path
	})
	return out
}

func envName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// applyEnv sets every field whose variable is in env.
func applyEnv(cfg *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	var err error
	walk(reflect.ValueOf(cfg).Elem(), "", func(path string, v reflect.Value) {
		raw, ok := vars[envName(path)]
		if !ok || err != nil {
			return
		}
		if e := setFromString(v, raw); e != nil {
			err = &pipeline.FieldError{Field: path, Reason: fmt.Sprintf("from %s=%q: %v", envName(path), raw, e)}
		}
	})
	return err
}

// walk calls leaf for every settable leaf field under v, with its dotted YAML path.
func walk(v reflect.Value, path string, leaf func(path string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
			walk(fv, p, leaf)
			continue
		}
		leaf(p, fv)
	}
}

func setFromString(v reflect.Value, s string) error {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("lists of %s cannot be set from the environment", v.Type().Elem())
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("a %s cannot be set from the environment", v.Type())
	}
	return nil
}
