# SPDX-License-Identifier: MIT
# Man pages: defer(3), deferdb(1), defer-inspect(1), installed under
# $(MANDIR) with the version written in (it is in defer.h only).

MAN_PAGES := man/defer.3 man/deferdb.1 man/defer-inspect.1

INSTALL_TARGETS += install-man
UNINSTALL_TARGETS += uninstall-man
.PHONY: install-man uninstall-man
install-man:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	for p in $(MAN_PAGES); do \
		sed -e 's|@VERSION@|$(LIBDEFER_VERSION)|' $$p > \
			$(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/} || exit 1; \
	done

uninstall-man:
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
