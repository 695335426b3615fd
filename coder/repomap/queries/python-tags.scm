; Python tags: definitions and references for the repo map.
; Adapted from tree-sitter-python's queries/tags.scm (MIT).

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(module
  (expression_statement
    (assignment
      left: (identifier) @name) @definition.constant))

(call
  function: [
    (identifier) @name
    (attribute
      attribute: (identifier) @name)
  ]) @reference.call

(class_definition
  superclasses: (argument_list
    [
      (identifier) @name
      (attribute
        attribute: (identifier) @name)
    ]) @reference.class)

(decorator
  [
    (identifier) @name
    (attribute
      attribute: (identifier) @name)
  ] @reference.call)

(type
  [
    (identifier) @name
    (generic_type
      (identifier) @name)
  ]) @reference.type
