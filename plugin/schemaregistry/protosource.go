package schemaregistry

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	// Descriptor options are descriptorpb messages; without this import the Options
	// methods panic.
	_ "google.golang.org/protobuf/types/descriptorpb"
)

// ProtoSource renders a Protobuf file descriptor as .proto source text: the schema text the
// Protobuf serializer registers. Type names are written fully qualified (".pkg.Message");
// options are kept, except custom options whose extensions are not linked into the
// program. Files in editions syntax are not supported.
func ProtoSource(fd protoreflect.FileDescriptor) (string, error) {
	p := &protoPrinter{}
	switch fd.Syntax() {
	case protoreflect.Proto2:
		p.line(0, `syntax = "proto2";`)
	case protoreflect.Proto3:
		p.line(0, `syntax = "proto3";`)
		p.proto3 = true
	default:
		return "", fmt.Errorf("schemaregistry: %s: %v syntax is not supported, only proto2 and proto3", fd.Path(), fd.Syntax())
	}
	if pkg := fd.Package(); pkg != "" {
		p.line(0, "package "+string(pkg)+";")
	}
	if imps := fd.Imports(); imps.Len() > 0 {
		p.blank()
		for i := range imps.Len() {
			imp := imps.Get(i)
			kw := "import "
			if imp.IsPublic {
				kw += "public "
			}
			p.line(0, kw+quoteProto([]byte(imp.Path()))+";")
		}
	}
	if opts := p.options(fd.Options(), nil); len(opts) > 0 {
		p.blank()
		for _, o := range opts {
			p.line(0, "option "+o+";")
		}
	}
	p.body(0, fd, fd.Messages(), fd.Enums(), fd.Extensions())
	svcs := fd.Services()
	for i := range svcs.Len() {
		p.blank()
		p.service(svcs.Get(i))
	}
	if p.err != nil {
		return "", fmt.Errorf("schemaregistry: rendering %s: %w", fd.Path(), p.err)
	}
	return p.b.String(), nil
}

type protoPrinter struct {
	b      strings.Builder
	proto3 bool
	err    error
}

func (p *protoPrinter) line(indent int, s string) {
	for range indent {
		p.b.WriteString("  ")
	}
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

// blank separates declarations; none right after an opening brace.
func (p *protoPrinter) blank() {
	if !strings.HasSuffix(p.b.String(), "{\n") {
		p.b.WriteByte('\n')
	}
}

func (p *protoPrinter) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// body prints the declarations of a file or message scope: nested messages (not map
// entries, not groups: those are printed by their fields), enums, and extensions grouped
// by extendee in their order.
func (p *protoPrinter) body(indent int, scope protoreflect.Descriptor, msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors, exts protoreflect.ExtensionDescriptors) {
	for i := range msgs.Len() {
		if md := msgs.Get(i); declaredMessage(scope, md) {
			p.blank()
			p.message(indent, md)
		}
	}
	for i := range enums.Len() {
		p.blank()
		p.enum(indent, enums.Get(i))
	}
	for i := 0; i < exts.Len(); {
		extendee := exts.Get(i).ContainingMessage().FullName()
		p.blank()
		p.line(indent, "extend ."+string(extendee)+" {")
		for ; i < exts.Len() && exts.Get(i).ContainingMessage().FullName() == extendee; i++ {
			p.field(indent+1, exts.Get(i))
		}
		p.line(indent, "}")
	}
}

// declaredMessage reports whether md is declared by a message statement in scope, rather
// than made by the compiler for a map field or declared by a group field.
func declaredMessage(scope protoreflect.Descriptor, md protoreflect.MessageDescriptor) bool {
	if md.IsMapEntry() {
		return false
	}
	isGroupOf := func(fields interface {
		Len() int
		Get(int) protoreflect.FieldDescriptor
	}) bool {
		for i := range fields.Len() {
			f := fields.Get(i)
			if f.Kind() == protoreflect.GroupKind && f.Message().FullName() == md.FullName() {
				return true
			}
		}
		return false
	}
	switch s := scope.(type) {
	case protoreflect.MessageDescriptor:
		return !isGroupOf(s.Fields()) && !isGroupOf(s.Extensions())
	case protoreflect.FileDescriptor:
		return !isGroupOf(s.Extensions())
	}
	return true
}

func (p *protoPrinter) message(indent int, md protoreflect.MessageDescriptor) {
	p.line(indent, "message "+string(md.Name())+" {")
	p.messageBody(indent+1, md)
	p.line(indent, "}")
}

func (p *protoPrinter) messageBody(indent int, md protoreflect.MessageDescriptor) {
	for _, o := range p.options(md.Options(), map[string]bool{"map_entry": true}) {
		p.line(indent, "option "+o+";")
	}
	// Nested declarations come before the fields, so that a compiler puts the messages it
	// makes for map fields (and groups) after the declared ones: then a message's index
	// among its siblings is the same whether a reader counts those messages or not (the
	// Java deserializer does not, confluent-kafka-go's does).
	p.body(indent, md, md.Messages(), md.Enums(), md.Extensions())
	if md.Messages().Len() > 0 || md.Enums().Len() > 0 || md.Extensions().Len() > 0 {
		p.blank()
	}
	fields := md.Fields()
	printed := map[protoreflect.FullName]bool{}
	for i := range fields.Len() {
		f := fields.Get(i)
		od := f.ContainingOneof()
		if od == nil || od.IsSynthetic() {
			p.field(indent, f)
			continue
		}
		if printed[od.FullName()] {
			continue
		}
		printed[od.FullName()] = true
		p.line(indent, "oneof "+string(od.Name())+" {")
		for _, o := range p.options(od.Options(), nil) {
			p.line(indent+1, "option "+o+";")
		}
		ofs := od.Fields()
		for j := range ofs.Len() {
			p.field(indent+1, ofs.Get(j))
		}
		p.line(indent, "}")
	}
	setWire := false
	if mo, ok := md.Options().(interface{ GetMessageSetWireFormat() bool }); ok {
		setWire = mo.GetMessageSetWireFormat()
	}
	xr := md.ExtensionRanges()
	for i := range xr.Len() {
		r := xr.Get(i)
		s := "extensions " + fieldRange(r[0], r[1], !setWire)
		if o := p.options(md.ExtensionRangeOptions(i), nil); len(o) > 0 {
			s += " [" + strings.Join(o, ", ") + "]"
		}
		p.line(indent, s+";")
	}
	if rr := md.ReservedRanges(); rr.Len() > 0 {
		parts := make([]string, rr.Len())
		for i := range parts {
			r := rr.Get(i)
			parts[i] = fieldRange(r[0], r[1], true)
		}
		p.line(indent, "reserved "+strings.Join(parts, ", ")+";")
	}
	if rn := md.ReservedNames(); rn.Len() > 0 {
		p.line(indent, "reserved "+quotedNames(rn)+";")
	}
}

// maxFieldNumber is the largest field number, "max" in a range.
const maxFieldNumber = 1<<29 - 1

// fieldRange prints a message's half-open field range [start, end) as "a", "a to b" or
// "a to max".
func fieldRange(start, end protoreflect.FieldNumber, useMax bool) string {
	last := end - 1
	switch {
	case last == start:
		return strconv.Itoa(int(start))
	case useMax && last == maxFieldNumber:
		return strconv.Itoa(int(start)) + " to max"
	}
	return strconv.Itoa(int(start)) + " to " + strconv.Itoa(int(last))
}

func quotedNames(names protoreflect.Names) string {
	parts := make([]string, names.Len())
	for i := range parts {
		parts[i] = quoteProto([]byte(names.Get(i)))
	}
	return strings.Join(parts, ", ")
}

func (p *protoPrinter) field(indent int, f protoreflect.FieldDescriptor) {
	var label string
	inOneof := f.ContainingOneof() != nil && !f.ContainingOneof().IsSynthetic()
	switch {
	case f.IsMap() || inOneof:
	case f.Cardinality() == protoreflect.Repeated:
		label = "repeated "
	case p.proto3:
		if f.HasOptionalKeyword() {
			label = "optional "
		}
	case f.Cardinality() == protoreflect.Required:
		label = "required "
	default:
		label = "optional "
	}

	var typ string
	switch {
	case f.IsMap():
		typ = "map<" + typeName(f.MapKey()) + ", " + typeName(f.MapValue()) + ">"
	case f.Kind() == protoreflect.GroupKind:
		typ = "group"
	default:
		typ = typeName(f)
	}
	name := string(f.Name())
	if f.Kind() == protoreflect.GroupKind {
		name = string(f.Message().Name())
	}

	var opts []string
	if f.HasDefault() {
		opts = append(opts, "default = "+p.defaultValue(f))
	}
	if !f.IsExtension() && f.JSONName() != jsonCamelCase(string(f.Name())) {
		opts = append(opts, "json_name = "+quoteProto([]byte(f.JSONName())))
	}
	opts = append(opts, p.options(f.Options(), nil)...)
	s := label + typ + " " + name + " = " + strconv.Itoa(int(f.Number()))
	if len(opts) > 0 {
		s += " [" + strings.Join(opts, ", ") + "]"
	}
	if f.Kind() != protoreflect.GroupKind {
		p.line(indent, s+";")
		return
	}
	p.line(indent, s+" {")
	p.messageBody(indent+1, f.Message())
	p.line(indent, "}")
}

// typeName is a field's type as written in a declaration.
func typeName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.EnumKind:
		return "." + string(f.Enum().FullName())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(f.Message().FullName())
	}
	return f.Kind().String() // the scalar kinds print as their .proto keywords
}

// jsonCamelCase is the JSON name protoc gives a field that sets none: underscores dropped,
// the letter after each upper-cased.
func jsonCamelCase(s string) string {
	var b strings.Builder
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			upper = true
		case upper && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			upper = false
		default:
			b.WriteByte(c)
			upper = false
		}
	}
	return b.String()
}

func (p *protoPrinter) defaultValue(f protoreflect.FieldDescriptor) string {
	if f.Kind() == protoreflect.EnumKind {
		return string(f.DefaultEnumValue().Name())
	}
	return p.scalar(f, f.Default())
}

func (p *protoPrinter) enum(indent int, ed protoreflect.EnumDescriptor) {
	p.line(indent, "enum "+string(ed.Name())+" {")
	for _, o := range p.options(ed.Options(), nil) {
		p.line(indent+1, "option "+o+";")
	}
	vals := ed.Values()
	for i := range vals.Len() {
		v := vals.Get(i)
		s := string(v.Name()) + " = " + strconv.Itoa(int(v.Number()))
		if o := p.options(v.Options(), nil); len(o) > 0 {
			s += " [" + strings.Join(o, ", ") + "]"
		}
		p.line(indent+1, s+";")
	}
	if rr := ed.ReservedRanges(); rr.Len() > 0 {
		parts := make([]string, rr.Len())
		for i := range parts {
			r := rr.Get(i) // inclusive
			switch {
			case r[0] == r[1]:
				parts[i] = strconv.Itoa(int(r[0]))
			case r[1] == math.MaxInt32:
				parts[i] = strconv.Itoa(int(r[0])) + " to max"
			default:
				parts[i] = strconv.Itoa(int(r[0])) + " to " + strconv.Itoa(int(r[1]))
			}
		}
		p.line(indent+1, "reserved "+strings.Join(parts, ", ")+";")
	}
	if rn := ed.ReservedNames(); rn.Len() > 0 {
		p.line(indent+1, "reserved "+quotedNames(rn)+";")
	}
	p.line(indent, "}")
}

func (p *protoPrinter) service(sd protoreflect.ServiceDescriptor) {
	p.line(0, "service "+string(sd.Name())+" {")
	for _, o := range p.options(sd.Options(), nil) {
		p.line(1, "option "+o+";")
	}
	methods := sd.Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		in, out := "."+string(m.Input().FullName()), "."+string(m.Output().FullName())
		if m.IsStreamingClient() {
			in = "stream " + in
		}
		if m.IsStreamingServer() {
			out = "stream " + out
		}
		s := "rpc " + string(m.Name()) + "(" + in + ") returns (" + out + ")"
		opts := p.options(m.Options(), nil)
		if len(opts) == 0 {
			p.line(1, s+";")
			continue
		}
		p.line(1, s+" {")
		for _, o := range opts {
			p.line(2, "option "+o+";")
		}
		p.line(1, "}")
	}
	p.line(0, "}")
}

// options renders the fields set in an options message as "name = value", extensions as
// "(full.name) = value"; a repeated option gives one entry per element. Unknown fields
// (custom options whose extension is not linked in) are left out.
func (p *protoPrinter) options(opts proto.Message, skip map[string]bool) []string {
	if opts == nil {
		return nil
	}
	m := opts.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	var out []string
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(f.Name())
		if f.IsExtension() {
			name = "(" + string(f.FullName()) + ")"
		} else if skip[name] || name == "uninterpreted_option" {
			return true
		}
		if f.IsList() {
			l := v.List()
			for i := range l.Len() {
				out = append(out, name+" = "+p.value(f, l.Get(i)))
			}
			return true
		}
		out = append(out, name+" = "+p.value(f, v))
		return true
	})
	return out
}

// value renders an option value: a scalar, an enum value's name, or a message as a text
// format aggregate in braces.
func (p *protoPrinter) value(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "{" + p.aggregate(v.Message()) + "}"
	case protoreflect.EnumKind:
		if ev := f.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	}
	return p.scalar(f, v)
}

// aggregate renders a message's fields in the text format, in field-number order.
func (p *protoPrinter) aggregate(m protoreflect.Message) string {
	var parts []string
	fields := m.Descriptor().Fields()
	add := func(f protoreflect.FieldDescriptor, v protoreflect.Value) {
		name := string(f.Name())
		if f.Kind() == protoreflect.GroupKind {
			name = string(f.Message().Name())
		}
		if f.IsExtension() {
			name = "[" + string(f.FullName()) + "]"
		}
		if f.IsMap() {
			p.fail(fmt.Errorf("option field %s: map values in options are not supported", f.FullName()))
			return
		}
		sep := ": "
		if f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
			sep = " "
		}
		if f.IsList() {
			l := v.List()
			for i := range l.Len() {
				parts = append(parts, name+sep+p.value(f, l.Get(i)))
			}
			return
		}
		parts = append(parts, name+sep+p.value(f, v))
	}
	for i := range fields.Len() {
		if f := fields.Get(i); m.Has(f) {
			add(f, m.Get(f))
		}
	}
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.IsExtension() {
			add(f, v)
		}
		return true
	})
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ") + " "
}

func (p *protoPrinter) scalar(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		x := v.Float()
		switch {
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		case math.IsNaN(x):
			return "nan"
		}
		bits := 64
		if f.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		return strconv.FormatFloat(x, 'g', -1, bits)
	case protoreflect.StringKind:
		return quoteProto([]byte(v.String()))
	case protoreflect.BytesKind:
		return quoteProto(v.Bytes())
	}
	p.fail(errors.New("unexpected kind " + f.Kind().String() + " of " + string(f.FullName())))
	return ""
}

// quoteProto quotes b as a .proto string literal: printable ASCII as itself, the rest as
// octal escapes, which every .proto parser reads.
func quoteProto(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch c {
		case '"', '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\n':
			s.WriteString(`\n`)
		case '\r':
			s.WriteString(`\r`)
		case '\t':
			s.WriteString(`\t`)
		default:
			if c < 0x20 || c >= 0x7f {
				s.WriteByte('\\')
				s.WriteByte('0' + c>>6)
				s.WriteByte('0' + c>>3&7)
				s.WriteByte('0' + c&7)
			} else {
				s.WriteByte(c)
			}
		}
	}
	s.WriteByte('"')
	return s.String()
}
