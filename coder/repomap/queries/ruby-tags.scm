; Ruby tags: definitions and references for the repo map.
; Adapted from tree-sitter-ruby's queries/tags.scm (MIT), without doc-comment captures.

[
  (method
    name: (_) @name)
  (singleton_method
    name: (_) @name)
] @definition.method

(alias
  name: (_) @name) @definition.method

[
  (class
    name: [
      (constant) @name
      (scope_resolution
        name: (_) @name)
    ])
  (singleton_class
    value: [
      (constant) @name
      (scope_resolution
        name: (_) @name)
    ])
] @definition.class

(module
  name: [
    (constant) @name
    (scope_resolution
      name: (_) @name)
  ]) @definition.module

(program
  (assignment
    left: (constant) @name) @definition.constant)

((call
  method: (identifier) @name) @reference.call
  (#not-match? @name "^(lambda|load|require|require_relative|attr_reader|attr_accessor|attr_writer|private|protected|public|include|extend)$"))

(call
  receiver: [
    (constant) @name
    (scope_resolution
      name: (constant) @name)
  ]) @reference.class

(superclass
  [
    (constant) @name
    (scope_resolution
      name: (constant) @name)
  ]) @reference.class

(scope_resolution
  scope: (constant) @name) @reference.class
