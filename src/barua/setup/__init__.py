"""Setting up the email settings: provider presets, detection from an address, the test email
that diagnoses, its advice, and the sending domain's SPF and DMARC records.

::

    providers   presets of the big providers (servers, ports, app-password steps, limits)
    detect      settings proposed for an address: presets, MX, autoconfig, probing
    diagnose    the test email, step by step (run_test)
    advice      what a failure means and what to do, in English or Kiswahili
    deliverability, spf   the sending domain's SPF and DMARC records after a passing test
    resolver    the DNS resolver those lookups use
"""
