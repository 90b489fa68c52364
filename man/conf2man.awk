# conf2man.awk: mailserver.conf(5) from mailserver.conf.sample, so that the manual and
# the sample (every key, its default and its explanation) are one source.
#   awk -v date=YYYY-MM-DD -f man/conf2man.awk mailserver.conf.sample > mailserver.conf.5
# The sample's opening comment becomes DESCRIPTION; each [section] a subsection; each
# key line ("key = value", or "# key = default" for a default) a tagged paragraph
# holding the comment lines just above it; other comments become plain paragraphs.

function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    if (s ~ /^[.']/)
        s = "\\&" s
    return s
}
function flush_text(   i) {
    if (ntext == 0)
        return
    print (pending_key != "" ? "" : ".PP")
    for (i = 1; i <= ntext; i++)
        print text[i]
    ntext = 0
}
function key_entry(k) {
    print ".TP"
    print ".B " esc(k)
    for (i = 1; i <= ntext; i++)
        print text[i]
    ntext = 0
}
BEGIN {
    print ".\\\" Generated from mailserver.conf.sample by man/conf2man.awk: edit the sample."
    print ".TH MAILSERVER.CONF 5 \"" date "\" \"mailserver\" \"File Formats\""
    print ".SH NAME"
    print "mailserver.conf \\- configuration of mailserver\\-smtpd, mailserver\\-pop3d and mailserver\\-userdb"
    print ".SH SYNOPSIS"
    print "/etc/mailserver/mailserver.conf"
    print ".SH DESCRIPTION"
    print "The daemons and the admin tool read one file. The values shown below are those of"
    print "the installed file; a key shown as a comment (\\(lq# key = value\\(rq there) is at its default."
    print ".PP"
    head = 1; ntext = 0
}
NR == 1 { next }                       # the title line, already in NAME
head && /^# (Installed by|Set domain|\(man mailserver)/ { next }   # the installed file's own note
head && /^#/ {
    line = $0; sub(/^# ?/, "", line)
    if (line == "") { if (nhead) print ".PP"; next }
    print esc(line); nhead++
    next
}
head && /^$/ { head = 0; print ".SH SECTIONS AND KEYS"; next }
/^# -+$/ { next }
/^\[.*\]$/ { flush_text(); print ".SS " esc($0); next }
/^#   / {                              # an indented example
    line = $0; sub(/^# /, "", line)
    flush_text(); print ".PP"; print ".nf"; print esc(line); print ".fi"; next
}
/^# [a-z_]+ =/ || /^[a-z_]+ =/ {
    line = $0; sub(/^# /, "", line)
    key_entry(line); next
}
/^#/ {
    line = $0; sub(/^# ?/, "", line)
    text[++ntext] = esc(line); next
}
/^$/ { flush_text(); next }
END {
    flush_text()
    print ".SH FILES"
    print ".TP"
    print ".I /etc/mailserver/mailserver.conf"
    print "the default; \\fB./mailserver.conf\\fP is read instead when it exists, and \\fB\\-c\\fP \\fIFILE\\fP names another."
    print ".SH SEE ALSO"
    print ".BR mailserver\\-smtpd (8),"
    print ".BR mailserver\\-pop3d (8),"
    print ".BR mailserver\\-userdb (8)"
}
