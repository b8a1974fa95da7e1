"""What an HTTP email service does to a message it accepts (pure: no I/O).

The relay (``barua relay serve``) takes a finished message from a business and sends it from
its own address, as section 6 of ``docs/http-protocol.md`` says::

    rewrite     the MIME checked (From, Date, Message-ID; header lines), line endings made
                CRLF, From rewritten to the relay's address keeping the display name,
                Reply-To the business, Bcc, Sender and Return-Path removed
    dkim        the DKIM signature of the relay's domain, with dkimpy; keys and DNS records
    bounces     the VERP bounce address of an accepted message, and the DSNs that come back
"""
