#!/usr/bin/env python3
"""Generates TypeScript for Envoy's API with ts-proto, from the descriptors in the PyPI package xds-protos.

No protoc is needed: the serialized FileDescriptorProtos that xds-protos ships are assembled into a
CodeGeneratorRequest and piped to ts-proto's plugin. The same descriptors yield a schema table
(generated/schema.ts: fields, enums and PGV `validate.rules`) that the compiler's validator enforces on every emitted resource.
"""
import importlib
import json
import os
import subprocess
import sys

from google.protobuf import descriptor_pb2, json_format
from google.protobuf.compiler import plugin_pb2
import validate.validate_pb2 as validate_pb2  # registers the (validate.*) extensions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TS_PROTO_OPTIONS = ",".join([
    "outputServices=grpc-js",
    "esModuleInterop=true",
    "useOptionals=messages",
    "oneof=unions-value",
    "env=node",
    "forceLong=number",
    "useExactTypes=false",
    "outputJsonMethods=false",
    "outputPartialMethods=true",
    "outputTypeRegistry=false",
])


def module_for(proto_path):
    return importlib.import_module(proto_path[: -len(".proto")].replace("/", ".") + "_pb2")


def file_descriptor(proto_path):
    return module_for(proto_path).DESCRIPTOR


def closure(roots):
    """All files the roots import, dependencies first."""
    order, seen = [], set()

    def visit(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        order.append(fd)

    for r in roots:
        visit(file_descriptor(r))
    return order


def snake_to_camel(s):
    """ts-proto's field/oneof naming (case.ts snakeToCamel, applied only to names with '_')."""
    if "_" not in s:
        return s
    has_lower = any(c.islower() for c in s)
    out = []
    for i, word in enumerate(s.split("_")):
        word = word if has_lower else word.lower()
        out.append(word if i == 0 else word[:1].upper() + word[1:])
    return "".join(out)


KIND = {
    descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE: "message",
    descriptor_pb2.FieldDescriptorProto.TYPE_GROUP: "message",
    descriptor_pb2.FieldDescriptorProto.TYPE_ENUM: "enum",
}


def rules_for_file(fdp, table, enums):
    pkg = fdp.package

    def walk_enum(prefix, e):
        enums[f"{prefix}.{e.name}"] = {v.name: v.number for v in e.value}

    def walk(prefix, msg):
        full = f"{prefix}.{msg.name}"
        is_map = msg.options.map_entry
        entry = {"fields": []}
        if msg.options.HasExtension(validate_pb2.disabled) and msg.options.Extensions[validate_pb2.disabled]:
            entry["disabled"] = True
        if is_map:
            entry["mapEntry"] = True
        real_oneofs = {}
        for i, o in enumerate(msg.oneof_decl):
            synthetic = any(f.oneof_index == i and f.HasField("oneof_index") and f.proto3_optional for f in msg.field)
            if not synthetic:
                real_oneofs[i] = o
        required_oneofs = [snake_to_camel(o.name) for i, o in real_oneofs.items()
                           if o.options.HasExtension(validate_pb2.required) and o.options.Extensions[validate_pb2.required]]
        if required_oneofs:
            entry["requiredOneofs"] = required_oneofs
        for f in msg.field:
            field = {"name": snake_to_camel(f.name), "proto": f.name, "kind": KIND.get(f.type, "scalar")}
            if f.type_name:
                field["type"] = f.type_name.lstrip(".")
            if f.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
                field["repeated"] = True
            if f.HasField("oneof_index") and f.oneof_index in real_oneofs:
                field["oneof"] = snake_to_camel(real_oneofs[f.oneof_index].name)
            if f.options.HasExtension(validate_pb2.rules):
                rules = json_format.MessageToDict(f.options.Extensions[validate_pb2.rules], preserving_proto_field_name=True)
                if rules:
                    field["rules"] = rules
            entry["fields"].append(field)
        table[full] = entry
        for e in msg.enum_type:
            walk_enum(full, e)
        for nested in msg.nested_type:
            walk(full, nested)

    for e in fdp.enum_type:
        walk_enum(pkg, e)
    for m in fdp.message_type:
        walk(pkg, m)


def main():
    roots = [l.strip() for l in open(os.path.join(ROOT, "proto", "roots.txt")) if l.strip() and not l.startswith("#")]
    files = closure(roots)
    request = plugin_pb2.CodeGeneratorRequest()
    request.parameter = TS_PROTO_OPTIONS
    table, enums = {}, {}
    for fd in files:
        fdp = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(fdp)
        request.proto_file.append(fdp)
        request.file_to_generate.append(fd.name)
        rules_for_file(fdp, table, enums)
    plugin = os.path.join(ROOT, "node_modules", ".bin", "protoc-gen-ts_proto")
    out = subprocess.run([plugin], input=request.SerializeToString(), capture_output=True, check=True)
    response = plugin_pb2.CodeGeneratorResponse.FromString(out.stdout)
    if response.error:
        sys.exit(f"ts-proto: {response.error}")
    gen_dir = os.path.join(ROOT, "generated")
    for f in response.file:
        path = os.path.join(gen_dir, f.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(f.content)
    payload = json.dumps({"messages": table, "enums": enums}, sort_keys=True, separators=(",", ":"))
    with open(os.path.join(gen_dir, "schema.ts"), "w") as fh:
        fh.write("// Code generated by scripts/gen_protos.py from the xds-protos descriptors. DO NOT EDIT.\n")
        fh.write("// Fields, enums and PGV (validate.rules) constraints of every message in generated/, by full proto name.\n")
        fh.write("// Stored as a JSON string so the type checker does not have to infer a large literal.\n")
        fh.write("export const SCHEMA_JSON = " + json.dumps(payload) + ";\n")
    print(f"generate: {len(response.file)} files from {len(roots)} roots ({len(files)} protos), "
          f"{sum(1 for m in table.values() for f in m['fields'] if 'rules' in f)} rule-bearing fields")


if __name__ == "__main__":
    main()
