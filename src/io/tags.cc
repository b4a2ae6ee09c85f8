// SPDX-License-Identifier: GPL-3.0-or-later
// Writing tags into finished files with TagLib's C++ API, behind the C ABI
// of lathe/meta.h.  C++ only because TagLib 1.13's C binding cannot write
// ISRC (or any key outside its fixed set).  Nothing here may throw across
// the ABI: lathe_tags_write catches everything.
//
// The file type comes from the content, not the name (lathe tags its
// temporary file before the rename).  Keys per format:
//   Xiph comments (FLAC, Ogg Vorbis, Opus): TITLE ARTIST ALBUM ALBUMARTIST
//     DATE GENRE ISRC TRACKNUMBER TRACKTOTAL DISCNUMBER DISCTOTAL BARCODE
//     COMPOSER COMMENT, REPLAYGAIN_{TRACK,ALBUM}_{GAIN,PEAK} (not in Opus:
//     RFC 7845 5.2.1 says an Opus header SHOULD NOT carry them), and
//     R128_{TRACK,ALBUM}_GAIN for Opus.
//   ID3v2.4 (MP3, AIFF, and the "id3 " chunk of WAV): TIT2 TPE1 TALB TPE2
//     TDRC TCON TSRC TRCK TPOS TCOM COMM, TXXX:BARCODE, TXXX:REPLAYGAIN_*.
//   RIFF INFO (WAV): INAM IART IPRD ICRD IGNR ICMT ITRK, UTF-8 text.
//   bext (WAV, EBU Tech 3285 version 2): Description (comment), Originator
//     (artist), OriginatorReference (ISRC), OriginationDate (year when it is
//     a full date), LoudnessValue and MaxTruePeakLevel (track loudness).
//     The spec asks for ASCII; lathe's UTF-8 text is stored as is.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>

#include <sys/stat.h>

#include <taglib/aifffile.h>
#include <taglib/commentsframe.h>
#include <taglib/flacfile.h>
#include <taglib/id3v2tag.h>
#include <taglib/infotag.h>
#include <taglib/mpegfile.h>
#include <taglib/opusfile.h>
#include <taglib/textidentificationframe.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavfile.h>
#include <taglib/xiphcomment.h>

#include "lathe/meta.h"

namespace {

using TagLib::ByteVector;
using TagLib::String;

enum class Kind { Unknown, Flac, Vorbis, Opus, Mp3, Wav, Rf64, Aiff, OggOther };

String u8(const char *s) {
    return String(s, String::UTF8);
}

// ---- type by content ----

Kind sniff(FILE *f) {
    unsigned char h[128] = {0};
    size_t n = fread(h, 1, sizeof h, f);
    if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) return Kind::Wav;
    if (n >= 12 && !memcmp(h, "RF64", 4)) return Kind::Rf64;
    if (n >= 12 && !memcmp(h, "FORM", 4) &&
        (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4)))
        return Kind::Aiff;
    if (n >= 28 && !memcmp(h, "OggS", 4)) {
        // First page: 27-byte header, segment table, then the first packet.
        size_t off = 27 + (size_t)h[26];
        if (off + 8 <= n && !memcmp(h + off, "OpusHead", 8)) return Kind::Opus;
        if (off + 7 <= n && !memcmp(h + off, "\x01vorbis", 7)) return Kind::Vorbis;
        return Kind::OggOther;
    }
    if (n >= 4 && !memcmp(h, "fLaC", 4)) return Kind::Flac;
    if (n >= 10 && !memcmp(h, "ID3", 3)) {
        // ID3v2 header (id3.org v2.4 structure 3.1): synchsafe size, footer flag.
        long size = (long)(h[6] & 0x7f) << 21 | (long)(h[7] & 0x7f) << 14 |
                    (long)(h[8] & 0x7f) << 7 | (long)(h[9] & 0x7f);
        size += 10 + ((h[5] & 0x10) ? 10 : 0);
        unsigned char m[4] = {0};
        if (fseek(f, size, SEEK_SET) == 0 && fread(m, 1, 4, f) == 4 && !memcmp(m, "fLaC", 4))
            return Kind::Flac;
        return Kind::Mp3;
    }
    if (n >= 4 && h[0] == 0xff && (h[1] & 0xe0) == 0xe0) return Kind::Mp3;
    return Kind::Unknown;
}

// ---- loudness texts ----

struct Loud {
    bool gain = false, peak = false;
    String rg_gain, rg_peak, r128;
};

Loud loud(const lathe_meta_loudness &l) {
    Loud o;
    char buf[32];
    if (l.has_gain) {
        o.gain = true;
        o.rg_gain = lathe_replaygain_gain_str(buf, l.rg_gain_db);
        o.r128 = lathe_r128_gain_str(buf, l.r128_gain_q78);
    }
    if (l.has_peak) {
        o.peak = true;
        o.rg_peak = lathe_replaygain_peak_str(buf, l.peak);
    }
    return o;
}

String num(int v) {
    return String::number(v);
}

String position(int n, int total) {
    return total ? num(n) + "/" + num(total) : num(n);
}

// ---- Xiph comments ----

void xiph(TagLib::Ogg::XiphComment *x, const lathe_meta *m, bool opus) {
    auto put = [x](const char *key, const String &v) { x->addField(key, v, true); };
    if (m->title) put("TITLE", u8(m->title));
    if (m->artist) put("ARTIST", u8(m->artist));
    if (m->album) put("ALBUM", u8(m->album));
    if (m->album_artist) put("ALBUMARTIST", u8(m->album_artist));
    if (m->year[0]) put("DATE", m->year);
    if (m->genre) put("GENRE", u8(m->genre));
    if (m->isrc[0]) put("ISRC", m->isrc);
    if (m->track) {
        put("TRACKNUMBER", num(m->track));
        if (m->track_total)
            put("TRACKTOTAL", num(m->track_total));
        else
            x->removeFields("TRACKTOTAL");
    }
    if (m->disc) {
        put("DISCNUMBER", num(m->disc));
        if (m->disc_total)
            put("DISCTOTAL", num(m->disc_total));
        else
            x->removeFields("DISCTOTAL");
    }
    if (m->upc[0]) put("BARCODE", m->upc);
    if (m->composer) put("COMPOSER", u8(m->composer));
    if (m->comment) put("COMMENT", u8(m->comment));
    Loud t = loud(m->track_loudness), a = loud(m->album_loudness);
    if (opus) {
        if (t.gain) put("R128_TRACK_GAIN", t.r128);
        if (a.gain) put("R128_ALBUM_GAIN", a.r128);
        return;
    }
    if (t.gain) put("REPLAYGAIN_TRACK_GAIN", t.rg_gain);
    if (t.peak) put("REPLAYGAIN_TRACK_PEAK", t.rg_peak);
    if (a.gain) put("REPLAYGAIN_ALBUM_GAIN", a.rg_gain);
    if (a.peak) put("REPLAYGAIN_ALBUM_PEAK", a.rg_peak);
}

// ---- ID3v2.4 ----

void id3_text(TagLib::ID3v2::Tag *t, const char *id, const String &v) {
    t->removeFrames(id);
    auto *f = new TagLib::ID3v2::TextIdentificationFrame(id, String::UTF8);
    f->setText(v);
    t->addFrame(f);
}

void id3_txxx(TagLib::ID3v2::Tag *t, const char *desc, const String &v) {
    using TagLib::ID3v2::UserTextIdentificationFrame;
    while (UserTextIdentificationFrame *old = UserTextIdentificationFrame::find(t, desc))
        t->removeFrame(old);
    t->addFrame(new UserTextIdentificationFrame(desc, TagLib::StringList(v), String::UTF8));
}

void id3_comment(TagLib::ID3v2::Tag *t, const String &v) {
    using TagLib::ID3v2::CommentsFrame;
    // Replace the comment without a description (the one players show).
    const TagLib::ID3v2::FrameList list = t->frameList("COMM");
    for (TagLib::ID3v2::Frame *fr : list) {
        auto *c = dynamic_cast<CommentsFrame *>(fr);
        if (c && c->description().isEmpty()) t->removeFrame(c);
    }
    auto *c = new CommentsFrame(String::UTF8);
    c->setLanguage("eng");
    c->setText(v);
    t->addFrame(c);
}

void id3(TagLib::ID3v2::Tag *t, const lathe_meta *m) {
    if (m->title) id3_text(t, "TIT2", u8(m->title));
    if (m->artist) id3_text(t, "TPE1", u8(m->artist));
    if (m->album) id3_text(t, "TALB", u8(m->album));
    if (m->album_artist) id3_text(t, "TPE2", u8(m->album_artist));
    if (m->year[0]) id3_text(t, "TDRC", m->year);
    if (m->genre) id3_text(t, "TCON", u8(m->genre));
    if (m->isrc[0]) id3_text(t, "TSRC", m->isrc);
    if (m->track) id3_text(t, "TRCK", position(m->track, m->track_total));
    if (m->disc) id3_text(t, "TPOS", position(m->disc, m->disc_total));
    if (m->composer) id3_text(t, "TCOM", u8(m->composer));
    if (m->comment) id3_comment(t, u8(m->comment));
    if (m->upc[0]) id3_txxx(t, "BARCODE", m->upc);
    Loud tr = loud(m->track_loudness), al = loud(m->album_loudness);
    if (tr.gain) id3_txxx(t, "REPLAYGAIN_TRACK_GAIN", tr.rg_gain);
    if (tr.peak) id3_txxx(t, "REPLAYGAIN_TRACK_PEAK", tr.rg_peak);
    if (al.gain) id3_txxx(t, "REPLAYGAIN_ALBUM_GAIN", al.rg_gain);
    if (al.peak) id3_txxx(t, "REPLAYGAIN_ALBUM_PEAK", al.rg_peak);
}

// ---- RIFF INFO ----

// TagLib renders INFO text as Latin-1 unless told otherwise; lathe's text
// is UTF-8 (what ffmpeg and most current readers assume).  The handler is
// TagLib-global, so it is installed once and never changed.
class Utf8Info : public TagLib::RIFF::Info::StringHandler {
  public:
    String parse(const ByteVector &data) const override {
        ByteVector d = data;
        while (!d.isEmpty() && d[d.size() - 1] == '\0')
            d.resize(d.size() - 1);
        return String(d, String::UTF8);
    }
    ByteVector render(const String &s) const override {
        return s.data(String::UTF8);
    }
};

void info(TagLib::RIFF::Info::Tag *t, const lathe_meta *m) {
    auto put = [t](const char *id, const String &v) { t->setFieldText(id, v); };
    if (m->title) put("INAM", u8(m->title));
    if (m->artist) put("IART", u8(m->artist));
    if (m->album) put("IPRD", u8(m->album));
    if (m->year[0]) put("ICRD", m->year);
    if (m->genre) put("IGNR", u8(m->genre));
    if (m->comment) put("ICMT", u8(m->comment));
    if (m->track) put("ITRK", position(m->track, m->track_total));
}

// ---- bext (EBU Tech 3285 v2) ----

// WAV::File with access to its chunk list, to keep the `bext` chunk that
// TagLib does not model.
class WavFile : public TagLib::RIFF::WAV::File {
  public:
    explicit WavFile(const char *path) : TagLib::RIFF::WAV::File(path, false) {}
    ByteVector chunk(const char *name) {
        for (unsigned i = 0; i < chunkCount(); i++)
            if (chunkName(i) == ByteVector(name, 4)) return chunkData(i);
        return ByteVector();
    }
    void put_chunk(const char *name, const ByteVector &data) {
        setChunkData(ByteVector(name, 4), data);
    }
};

// EBU Tech 3285 v2 layout (offsets in the chunk data).
enum : unsigned {
    BEXT_DESCRIPTION = 0,      // 256 bytes
    BEXT_ORIGINATOR = 256,     // 32
    BEXT_ORIGINATOR_REF = 288, // 32
    BEXT_DATE = 320,           // 10, yyyy-mm-dd
    BEXT_TIME = 330,           // 8
    BEXT_TIME_REF = 338,       // 8 (64-bit sample count)
    BEXT_VERSION = 346,        // 2
    BEXT_UMID = 348,           // 64
    BEXT_LOUDNESS = 412,       // 5 x int16: value, range, max true peak, max M, max S
    BEXT_RESERVED = 422,       // 180
    BEXT_SIZE = 602            // then CodingHistory (text)
};

// Fixed-size text field: truncated at a UTF-8 character boundary, NUL padded.
void bext_text(ByteVector &d, unsigned at, const char *s, unsigned size) {
    size_t n = strlen(s);
    if (n > size) {
        n = size;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (unsigned i = 0; i < size; i++)
        d[at + i] = i < n ? s[i] : '\0';
}

void bext_le16(ByteVector &d, unsigned at, int v) {
    unsigned u = (unsigned)v & 0xffff;
    d[at] = (char)(u & 0xff);
    d[at + 1] = (char)(u >> 8);
}

// Updates the fields m sets in an existing chunk (or a new, empty one);
// false when there is nothing to write and no chunk yet.
bool bext(ByteVector &d, const lathe_meta *m) {
    const lathe_meta_loudness &l = m->track_loudness;
    const bool full_date = strlen(m->year) == 10;
    if (d.isEmpty() && !m->comment && !m->artist && !m->isrc[0] && !full_date && !l.has_gain &&
        !l.has_peak)
        return false;
    if (d.isEmpty()) {
        d.resize(BEXT_SIZE, '\0');
        bext_le16(d, BEXT_VERSION, 2);
        for (unsigned k = 0; k < 5; k++)
            bext_le16(d, BEXT_LOUDNESS + 2 * k, 0x7fff); // not set
    } else if (d.size() < BEXT_SIZE) {
        d.resize(BEXT_SIZE, '\0'); // a short (broken) chunk: pad to the fixed part
    }
    if (m->comment) bext_text(d, BEXT_DESCRIPTION, m->comment, 256);
    if (m->artist) bext_text(d, BEXT_ORIGINATOR, m->artist, 32);
    if (m->isrc[0]) bext_text(d, BEXT_ORIGINATOR_REF, m->isrc, 32);
    if (full_date) bext_text(d, BEXT_DATE, m->year, 10);
    if (l.has_gain || l.has_peak) {
        // Version 2 fields are round(x * 100) as int16; 0x7fff = not set.
        const unsigned version = (unsigned char)d[BEXT_VERSION] | (unsigned char)d[BEXT_VERSION + 1]
                                                                      << 8;
        if (version < 2) {
            for (unsigned k = 0; k < 5; k++)
                bext_le16(d, BEXT_LOUDNESS + 2 * k, 0x7fff);
            bext_le16(d, BEXT_VERSION, 2);
        }
        if (l.has_gain) bext_le16(d, BEXT_LOUDNESS, (int)lround(l.lufs * 100.0));
        if (l.has_peak && l.peak > 0)
            bext_le16(d, BEXT_LOUDNESS + 4, (int)lround(20.0 * log10(l.peak) * 100.0));
    }
    if (d.size() & 1) d.append('\0'); // RIFF chunks are even-sized
    return true;
}

// ---- per type ----

lathe_status fail(lathe_error *err, lathe_status code, const char *path, const char *what) {
    return lathe_error_set(err, code, "%s: %s", path, what);
}

template <class F> lathe_status check_open(F &f, const char *path, lathe_error *err) {
    if (!f.isOpen() || !f.isValid())
        return fail(err, LATHE_E_FORMAT, path, "cannot read the file's structure to tag it");
    if (f.readOnly())
        return fail(err, LATHE_E_IO, path, "cannot write tags: the file is read-only");
    return LATHE_OK;
}

lathe_status write_kind(Kind k, const char *path, const char *name, const lathe_meta *m,
                        lathe_error *err) {
    lathe_status st;
    bool ok = false;
    switch (k) {
    case Kind::Flac: {
        TagLib::FLAC::File f(path, false);
        if ((st = check_open(f, name, err))) return st;
        xiph(f.xiphComment(true), m, false);
        ok = f.save();
        break;
    }
    case Kind::Vorbis: {
        TagLib::Ogg::Vorbis::File f(path, false);
        if ((st = check_open(f, name, err))) return st;
        xiph(f.tag(), m, false);
        ok = f.save();
        break;
    }
    case Kind::Opus: {
        TagLib::Ogg::Opus::File f(path, false);
        if ((st = check_open(f, name, err))) return st;
        xiph(f.tag(), m, true);
        ok = f.save();
        break;
    }
    case Kind::Mp3: {
        TagLib::MPEG::File f(path, false);
        if ((st = check_open(f, name, err))) return st;
        id3(f.ID3v2Tag(true), m);
        // ID3v2.4 only: ID3v1 cannot hold UTF-8 or ISRC, APE is not for MP3.
        ok = f.save(TagLib::MPEG::File::ID3v2, TagLib::File::StripOthers, TagLib::ID3v2::v4,
                    TagLib::File::DoNotDuplicate);
        break;
    }
    case Kind::Wav: {
        static std::once_flag once;
        static Utf8Info handler;
        std::call_once(once, [] { TagLib::RIFF::Info::Tag::setStringHandler(&handler); });
        WavFile f(path);
        if ((st = check_open(f, name, err))) return st;
        info(f.InfoTag(), m);
        id3(f.ID3v2Tag(), m);
        ok = f.save(TagLib::RIFF::WAV::File::AllTags, TagLib::File::StripOthers, TagLib::ID3v2::v4);
        ByteVector b = f.chunk("bext");
        if (ok && bext(b, m)) f.put_chunk("bext", b);
        break;
    }
    case Kind::Aiff: {
        TagLib::RIFF::AIFF::File f(path, false);
        if ((st = check_open(f, name, err))) return st;
        id3(f.tag(), m);
        ok = f.save(TagLib::ID3v2::v4);
        break;
    }
    case Kind::Rf64:
        return fail(err, LATHE_E_FORMAT, name,
                    "cannot tag an RF64 file (TagLib writes RIFF WAV only)");
    case Kind::OggOther:
    case Kind::Unknown:
        return fail(err, LATHE_E_FORMAT, name,
                    "cannot tag this file (not FLAC, Ogg Vorbis, Opus, MP3, WAV or AIFF)");
    }
    if (!ok) return fail(err, LATHE_E_IO, name, "could not write the tags");
    return LATHE_OK;
}

} // namespace

extern "C" lathe_status lathe_tags_write_named(const char *path, const char *name,
                                               const lathe_meta *m, lathe_error *err) {
    if (!path || !m) return lathe_error_set(err, LATHE_E_INVALID, "tags: no file or no metadata");
    if (!name) name = path;
    try {
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return lathe_error_set(err, LATHE_E_IO, "%s: cannot tag: is a directory", name);
        FILE *f = fopen(path, "rb");
        if (!f)
            return lathe_error_set(err, LATHE_E_IO, "%s: cannot open to tag: %s", name,
                                   strerror(errno));
        Kind k = sniff(f);
        fclose(f);
        return write_kind(k, path, name, m, err);
    } catch (const std::exception &e) {
        return lathe_error_set(err, LATHE_E_IO, "%s: tagging failed: %s", name, e.what());
    } catch (...) {
        return lathe_error_set(err, LATHE_E_IO, "%s: tagging failed", name);
    }
}

extern "C" lathe_status lathe_tags_write(const char *path, const lathe_meta *m, lathe_error *err) {
    return lathe_tags_write_named(path, path, m, err);
}
