"""Tests of the local engine (imported by pytest as the package ``local``)."""
