<?xml version="1.0" encoding="utf-8"?>
<!-- DaCHS resource descriptor for the astropy-smass CI TAP service.
     Installed by .ci/services.sh as /var/gavo/inputs/eco/q.rd (RD id eco/q), data from
     .ci/dachs/make_fits.py (its eco option) in /var/gavo/inputs/eco/data/.
     ADQL name of the table: eco.photoobj.  It serves ECO under the column names and
     UCDs of SDSS PhotoObj/SpecObj (modelMag_u..z, z) and the 2MASS PSC (j_m, h_m,
     k_m), so that the tests see what a query to those services returns. -->
<resource schema="eco">
  <meta name="title">ECO galaxies with SDSS- and 2MASS-style column names (astropy-smass CI)</meta>
  <meta name="description">
    Environmental COntext catalogue (ECO DR1; Moffett et al. 2015, Eckert et al.
    2016), a developer split of 6,337 galaxies at z &lt; 0.025, with SDSS u g r i z
    (AB) and 2MASS J H Ks (Vega) magnitudes.  Served for the integration tests of
    astropy-smass under the column names and UCDs that SDSS PhotoObj/SpecObj and the
    2MASS point source catalogue use: the values are ECO's own photometry, not SDSS
    model magnitudes.
  </meta>
  <meta name="creationDate">2024-01-01T00:00:00Z</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator.name">Moffett, A. J.</meta>
  <meta name="creator.name">Eckert, K. D.</meta>
  <meta name="source">2016ApJ...824..124E</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">Optical</meta>
  <meta name="coverage.waveband">Infrared</meta>

  <table id="photoobj" onDisk="True" adql="True" primary="objid">
    <meta name="description">ECO galaxies: SDSS-style model magnitudes,
      2MASS-style J H Ks magnitudes and redshift cz/c.</meta>
    <publish/>
    <column name="objid" type="text" ucd="meta.id;meta.main" tablehead="ObjID"
      verbLevel="1" required="True" description="ECO galaxy name"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      tablehead="RA" verbLevel="1" description="Right ascension (J2000)"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      tablehead="Dec" verbLevel="1" description="Declination (J2000)"/>
    <column name="z" type="double precision" ucd="src.redshift" tablehead="z"
      verbLevel="1" description="Redshift, cz/c in the Local Group frame"/>
    <column name="modelMag_u" type="double precision" unit="mag" ucd="phot.mag;em.opt.U"
      tablehead="u" verbLevel="10" description="SDSS u magnitude (AB; ECO photometry)"/>
    <column name="modelMag_g" type="double precision" unit="mag" ucd="phot.mag;em.opt.B"
      tablehead="g" verbLevel="10" description="SDSS g magnitude (AB; ECO photometry)"/>
    <column name="modelMag_r" type="double precision" unit="mag" ucd="phot.mag;em.opt.R"
      tablehead="r" verbLevel="10" description="SDSS r magnitude (AB; ECO photometry)"/>
    <column name="modelMag_i" type="double precision" unit="mag" ucd="phot.mag;em.opt.I"
      tablehead="i" verbLevel="10" description="SDSS i magnitude (AB; ECO photometry)"/>
    <column name="modelMag_z" type="double precision" unit="mag" ucd="phot.mag;em.opt.I"
      tablehead="z mag" verbLevel="10" description="SDSS z magnitude (AB; ECO photometry)"/>
    <column name="j_m" type="double precision" unit="mag" ucd="phot.mag;em.IR.J"
      tablehead="J" verbLevel="10" description="2MASS J magnitude (Vega)"/>
    <column name="h_m" type="double precision" unit="mag" ucd="phot.mag;em.IR.H"
      tablehead="H" verbLevel="10" description="2MASS H magnitude (Vega)"/>
    <column name="k_m" type="double precision" unit="mag" ucd="phot.mag;em.IR.K"
      tablehead="Ks" verbLevel="10" description="2MASS Ks magnitude (Vega)"/>
  </table>

  <data id="import">
    <sources>data/eco_photoobj.fits</sources>
    <fitsTableGrammar/>
    <make table="photoobj">
      <rowmaker idmaps="*">
        <apply name="nan_to_null">
          <code>
            for key, val in list(vars.items()):
              if isinstance(val, float) and val != val:
                vars[key] = None
          </code>
        </apply>
      </rowmaker>
    </make>
  </data>
</resource>
