; JSX tags (JavaScript and TSX): capitalised elements are components, hence references.

((jsx_opening_element
  name: (identifier) @name) @reference.class
  (#match? @name "^[A-Z]"))

((jsx_self_closing_element
  name: (identifier) @name) @reference.class
  (#match? @name "^[A-Z]"))
