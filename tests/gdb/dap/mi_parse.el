;;; mi_parse.el --- read a GDB/MI transcript with Emacs's own gdb-mi parser
;; SPDX-License-Identifier: MIT
;;
;;   emacs --batch -l mi_parse.el TRANSCRIPT
;;
;; What M-x gdb does with each record it reads: *stopped records (the
;; position Emacs shows) and the results of libdefer's -defer-list-*
;; commands, parsed by gdb-mi.el's gdb-mi--from-string.  Prints them as JSON.
(require 'gdb-mi)
(require 'json)
(let ((out '()))
  (with-temp-buffer
    (insert-file-contents (car command-line-args-left))
    (dolist (line (split-string (buffer-string) "\n" t))
      (cond ((string-match "\\`\\*stopped,\\(.*\\)\\'" line)
             (push (vector "stopped" (gdb-mi--from-string (match-string 1 line))) out))
            ((string-match "\\`[0-9]*\\^done,\\(thread-id=.*\\)\\'" line)
             (push (vector "done" (gdb-mi--from-string (match-string 1 line))) out)))))
  (princ (json-encode (vconcat (nreverse out))))
  (terpri))
