; Bash tags: function definitions and the commands that call them.

(function_definition
  name: (word) @name) @definition.function

(command
  name: (command_name
    (word) @name)) @reference.call
