"""Pure domain of dispatch: the work-order aggregate, its commands and rules. No I/O."""
