"""Independent reader of a TensorBoard event file (TFRecord framing + Event/Summary protobuf),
written from the format documentation, to check files CXR Studio writes without TensorFlow.
Prints one JSON line per scalar: {"tag", "step", "value"}; exits 1 on a bad CRC."""
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value = struct.unpack('<d', buf[pos:pos + 8])[0]
            pos += 8
        elif wire == 5:
            value = struct.unpack('<f', buf[pos:pos + 4])[0]
            pos += 4
        elif wire == 2:
            length, pos = varint(buf, pos)
            value = buf[pos:pos + length]
            pos += length
        else:
            raise ValueError('wire type %d' % wire)
        yield number, value


data = open(sys.argv[1], 'rb').read()
pos = 0
first = True
while pos < len(data):
    header = data[pos:pos + 8]
    (length,) = struct.unpack('<Q', header)
    (length_crc,) = struct.unpack('<I', data[pos + 8:pos + 12])
    if masked(header) != length_crc:
        sys.exit('bad length crc at %d' % pos)
    payload = data[pos + 12:pos + 12 + length]
    (data_crc,) = struct.unpack('<I', data[pos + 12 + length:pos + 16 + length])
    if masked(payload) != data_crc:
        sys.exit('bad data crc at %d' % pos)
    pos += 16 + length
    step = 0
    for number, value in fields(payload):
        if number == 2:
            step = value
        elif number == 3 and first:
            print(json.dumps({'file_version': value.decode()}))
        elif number == 5:
            for n, v in fields(value):
                if n != 1:
                    continue
                tag, scalar = None, None
                for fn, fv in fields(v):
                    if fn == 1:
                        tag = fv.decode()
                    elif fn == 2:
                        scalar = fv
                print(json.dumps({'tag': tag, 'step': step, 'value': scalar}))
    first = False
