"""What starts runs from outside events: job hooks on object changes and job buttons pressed on objects."""
