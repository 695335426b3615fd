; Rust tags: definitions and references for the repo map.
; Adapted from tree-sitter-rust's queries/tags.scm (MIT).

(struct_item
  name: (type_identifier) @name) @definition.class

(enum_item
  name: (type_identifier) @name) @definition.enum

(union_item
  name: (type_identifier) @name) @definition.class

(type_item
  name: (type_identifier) @name) @definition.type

(declaration_list
  (function_item
    name: (identifier) @name) @definition.method)

(declaration_list
  (function_signature_item
    name: (identifier) @name) @definition.method)

(function_item
  name: (identifier) @name) @definition.function

(trait_item
  name: (type_identifier) @name) @definition.interface

(mod_item
  name: (identifier) @name) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro

(source_file
  (const_item
    name: (identifier) @name) @definition.constant)

(source_file
  (static_item
    name: (identifier) @name) @definition.constant)

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name)) @reference.call

(call_expression
  function: (scoped_identifier
    name: (identifier) @name)) @reference.call

(macro_invocation
  macro: (identifier) @name) @reference.call

(impl_item
  trait: (type_identifier) @name) @reference.implementation

(impl_item
  type: (type_identifier) @name
  !trait) @reference.implementation

(type_identifier) @name @reference.type
