"""Trust: every file that leaves the studio is marked, and every step is on the record.

    keys.py        the studio's signing identity (local root CA + leaf, or a configured chain)
    audit.py       AuditLog: append-only, hash-chained, Merkle checkpoints, crypto-shredding
    auditor.py     stand-alone checker for the log and for exported bundles
    marking.py     finish_image: PNG info, IPTC XMP, invisible watermark, then C2PA, in that order
    xmp.py         the IPTC XMP packet (DigitalSourceType, AI system)
    watermark.py   48-bit dwtDctSvd watermark: payload, embedding, detection
    provenance.py  C2PA manifests via c2pa-python: sign and read, offline
    verify.py      verify_file: the report behind `darkroom verify`
    history.py     an image's audit history, raw to export (`darkroom audit show --image`)

Nothing heavy is imported here; import the module you need.
"""
