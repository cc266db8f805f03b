"""chainrule: backpropagation done properly."""
