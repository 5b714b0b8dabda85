package diff

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
)

// A summary must always be written: JSON cannot carry NaN or ±Inf, and a
// run whose summary fails to encode loses everything it measured. Figures
// are computed so as never to be non-finite (see roundSignificant); should
// one slip through all the same, MarshalJSON writes it as 0 rather than
// fail, and Check names it.

// MarshalJSON encodes s; a non-finite number is written as 0.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary // without this method
	b, err := json.Marshal(plain(s))
	var uve *json.UnsupportedValueError
	if err == nil || !errors.As(err, &uve) {
		return b, err
	}
	c := finiteCopy(reflect.ValueOf(plain(s))).Interface().(plain)
	return json.Marshal(c)
}

// NonFinite names the first field of s that holds NaN or ±Inf, or "".
func (s *Summary) NonFinite() string {
	return findNonFinite(reflect.ValueOf(s).Elem(), "summary")
}

// finiteCopy copies v with every non-finite number made 0; the caller's
// summary is left as it was.
func finiteCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out.SetFloat(f)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(finiteCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Interface:
		if !v.IsNil() {
			out.Set(finiteCopy(v.Elem()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(finiteCopy(v.Field(i)))
			}
		}
	case reflect.Slice:
		if !v.IsNil() {
			out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
			for i := range v.Len() {
				out.Index(i).Set(finiteCopy(v.Index(i)))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(finiteCopy(v.Index(i)))
		}
	case reflect.Map:
		if !v.IsNil() {
			out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
			for _, k := range v.MapKeys() {
				out.SetMapIndex(k, finiteCopy(v.MapIndex(k)))
			}
		}
	default:
		out.Set(v)
	}
	return out
}

func findNonFinite(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return findNonFinite(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("json"); tag != "" && tag != "-" {
				name, _, _ = cutComma(tag)
			}
			if p := findNonFinite(v.Field(i), path+"."+name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := findNonFinite(v.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if p := findNonFinite(v.MapIndex(k), path+"."+k.String()); p != "" {
				return p
			}
		}
	}
	return ""
}

func cutComma(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
