package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv overrides fields of the struct pointed to by dst from environment
// variables. A field's variable name is prefix plus its yaml key path in upper
// case joined by underscores: metrics.listen_address becomes
// VIGIL_METRICS_LISTEN_ADDRESS. Scalars, durations and comma-separated string
// lists are supported. lookup is os.LookupEnv in production.
func applyEnv(dst any, prefix string, lookup func(string) (string, bool)) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("applyEnv: want pointer to struct, got %T", dst)
	}
	return walkEnv(v.Elem(), prefix, "", lookup)
}

var durationType = reflect.TypeOf(time.Duration(0))

func walkEnv(v reflect.Value, envPrefix, keyPrefix string, lookup func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, inline := yamlName(f)
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if inline {
			if fv.Kind() == reflect.Struct {
				if err := walkEnv(fv, envPrefix, keyPrefix, lookup); err != nil {
					return err
				}
			}
			continue
		}
		env := envPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(name))
		key := name
		if keyPrefix != "" {
			key = keyPrefix + "." + name
		}
		if fv.Kind() == reflect.Struct && f.Type != durationType {
			if err := walkEnv(fv, env, key, lookup); err != nil {
				return err
			}
			continue
		}
		s, ok := lookup(env)
		if !ok {
			continue
		}
		if err := setScalar(fv, s); err != nil {
			return fmt.Errorf("%s (from %s): %w", key, env, err)
		}
	}
	return nil
}

// yamlName returns the yaml key of a struct field and whether it is inlined.
func yamlName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	inline := strings.Contains(","+opts+",", ",inline,")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, inline
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
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
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment (list of %s)", v.Type().Elem())
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment (%s)", v.Kind())
	}
	return nil
}
