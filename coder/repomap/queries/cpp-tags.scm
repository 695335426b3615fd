; C++ tags: definitions and references for the repo map.
; Adapted from tree-sitter-cpp's queries/tags.scm (MIT).

(function_definition
  declarator: (function_declarator
    declarator: [
      (identifier) @name
      (field_identifier) @name
      (qualified_identifier
        name: (identifier) @name)
      (qualified_identifier
        name: (qualified_identifier
          name: (identifier) @name))
    ])) @definition.function

(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: [
        (identifier) @name
        (field_identifier) @name
        (qualified_identifier
          name: (identifier) @name)
      ]))) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: [
        (identifier) @name
        (field_identifier) @name
        (qualified_identifier
          name: (identifier) @name)
      ]))) @definition.function

(field_declaration
  declarator: (function_declarator
    declarator: (field_identifier) @name)) @definition.method

(declaration
  declarator: (function_declarator
    declarator: (identifier) @name)) @definition.function

(field_declaration_list
  (function_definition
    declarator: (function_declarator
      declarator: [(field_identifier) (identifier)] @name)) @definition.method)

(class_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(struct_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(union_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

(type_definition
  declarator: (type_identifier) @name) @definition.type

(alias_declaration
  name: (type_identifier) @name) @definition.type

(namespace_definition
  name: (namespace_identifier) @name) @definition.module

(preproc_def
  name: (identifier) @name) @definition.macro

(preproc_function_def
  name: (identifier) @name) @definition.macro

(call_expression
  function: [
    (identifier) @name
    (field_expression
      field: (field_identifier) @name)
    (qualified_identifier
      name: (identifier) @name)
  ]) @reference.call

(type_identifier) @name @reference.type
