"""The service layer: the one command path (:mod:`.runner`) and the commands that run through
it, one module per area (:mod:`.tickets`, :mod:`.queries`, :mod:`.grants`, :mod:`.directory`,
:mod:`.workers`). Services take the runner as cosmicpython's services take a unit of work; the
:class:`~helpdesk_core.Helpdesk` facade only wires them and delegates."""
