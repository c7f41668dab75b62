"""DCLM modifiers."""
