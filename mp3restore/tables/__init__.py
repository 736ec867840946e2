"""Constant tables of the MPEG audio standards, transcribed as plain Python data.

``huffman_data``  Layer III Huffman code tables (ISO/IEC 11172-3 Table B.7).
``synth_window``  synthesis window D[i] (ISO/IEC 11172-3 Table B.3).
``bands``         scalefactor band edges and the small scalefactor tables
                  (ISO/IEC 11172-3 Tables B.6, B.8 and 2.4.2.7; ISO/IEC 13818-3).

Every module holds tuples of numbers only, with its source named in its
docstring; ``tools/check_tables.py`` verifies their internal consistency.
"""
