<?xml version="1.0" encoding="utf-8"?>
<!-- DaCHS resource descriptor for the astropy-smass CI TAP service.
     Installed by .ci/services.sh as /var/gavo/inputs/hatlas/q.rd (RD id hatlas/q),
     data from .ci/dachs/make_fits.py in /var/gavo/inputs/hatlas/data/.
     ADQL name of the table: hatlas.galaxies (column names are lower case). -->
<resource schema="hatlas">
  <meta name="title">H-ATLAS galaxies in the GAMA fields (astropy-smass CI copy)</meta>
  <meta name="description">
    Multi-wavelength photometry (GALEX, SDSS, 2MASS, WISE, Herschel PACS and
    SPIRE) of H-ATLAS galaxies in the GAMA G09, G12 and G15 fields, as used as
    input by Dobbels et al. (2020, FIREnet).  Fluxes are in mJy, errors are
    1-sigma, redshifts are rounded to 0.01.  This is a developer split served
    only for the integration tests of astropy-smass.  The source file has no
    positions: ra and dec are SYNTHETIC (reproducible, uniform inside the GAMA
    field of each id), for testing positional cross-matches only.
  </meta>
  <meta name="creationDate">2024-01-01T00:00:00Z</meta>
  <meta name="subject">galaxies</meta>
  <meta name="subject">spectral-energy-distribution</meta>
  <meta name="creator.name">Dobbels, W.</meta>
  <meta name="source">2020A&amp;A...634A..57D</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">UV</meta>
  <meta name="coverage.waveband">Optical</meta>
  <meta name="coverage.waveband">Infrared</meta>
  <meta name="coverage.waveband">Millimeter</meta>

  <table id="galaxies" onDisk="True" adql="True" primary="id">
    <meta name="description">H-ATLAS galaxies in the GAMA fields with
      UV to sub-mm flux densities (mJy).  Positions are synthetic.</meta>
    <!-- registry record (dachs pub); adql="True" makes it a TAP table -->
    <publish/>
    <column name="id" type="text" ucd="meta.id;meta.main"
      tablehead="ID" verbLevel="1" required="True"
      description="H-ATLAS (GAMA field) source identifier, e.g. G15.DR1.7961"/>
    <column name="redshift" type="double precision" ucd="src.redshift"
      tablehead="z" verbLevel="1"
      description="Redshift, rounded to 0.01"/>
    <column name="fuv" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.UV.100-200nm"
      tablehead="FUV" verbLevel="10"
      description="Flux density in GALEX FUV (153 nm); NULL if not measured"/>
    <column name="fuv_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.UV.100-200nm"
      tablehead="FUV_err" verbLevel="15"
      description="1-sigma error of the flux density in GALEX FUV (153 nm); NULL if not available"/>
    <column name="nuv" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.UV.200-300nm"
      tablehead="NUV" verbLevel="10"
      description="Flux density in GALEX NUV (231 nm); NULL if not measured"/>
    <column name="nuv_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.UV.200-300nm"
      tablehead="NUV_err" verbLevel="15"
      description="1-sigma error of the flux density in GALEX NUV (231 nm); NULL if not available"/>
    <column name="u_prime" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.opt.U"
      tablehead="u_prime" verbLevel="10"
      description="Flux density in SDSS u' (355 nm); NULL if not measured"/>
    <column name="u_prime_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.opt.U"
      tablehead="u_prime_err" verbLevel="15"
      description="1-sigma error of the flux density in SDSS u' (355 nm); NULL if not available"/>
    <column name="g_prime" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.opt.B"
      tablehead="g_prime" verbLevel="10"
      description="Flux density in SDSS g' (469 nm); NULL if not measured"/>
    <column name="g_prime_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.opt.B"
      tablehead="g_prime_err" verbLevel="15"
      description="1-sigma error of the flux density in SDSS g' (469 nm); NULL if not available"/>
    <column name="r_prime" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.opt.R"
      tablehead="r_prime" verbLevel="10"
      description="Flux density in SDSS r' (617 nm); NULL if not measured"/>
    <column name="r_prime_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.opt.R"
      tablehead="r_prime_err" verbLevel="15"
      description="1-sigma error of the flux density in SDSS r' (617 nm); NULL if not available"/>
    <column name="i_prime" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.opt.I"
      tablehead="i_prime" verbLevel="10"
      description="Flux density in SDSS i' (748 nm); NULL if not measured"/>
    <column name="i_prime_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.opt.I"
      tablehead="i_prime_err" verbLevel="15"
      description="1-sigma error of the flux density in SDSS i' (748 nm); NULL if not available"/>
    <column name="z_prime" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.opt.I"
      tablehead="z_prime" verbLevel="10"
      description="Flux density in SDSS z' (893 nm); NULL if not measured"/>
    <column name="z_prime_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.opt.I"
      tablehead="z_prime_err" verbLevel="15"
      description="1-sigma error of the flux density in SDSS z' (893 nm); NULL if not available"/>
    <column name="j_2mass" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.J"
      tablehead="J_2mass" verbLevel="10"
      description="Flux density in 2MASS J (1.24 um); NULL if not measured"/>
    <column name="j_2mass_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.J"
      tablehead="J_2mass_err" verbLevel="15"
      description="1-sigma error of the flux density in 2MASS J (1.24 um); NULL if not available"/>
    <column name="h_2mass" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.H"
      tablehead="H_2mass" verbLevel="10"
      description="Flux density in 2MASS H (1.66 um); NULL if not measured"/>
    <column name="h_2mass_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.H"
      tablehead="H_2mass_err" verbLevel="15"
      description="1-sigma error of the flux density in 2MASS H (1.66 um); NULL if not available"/>
    <column name="ks_2mass" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.K"
      tablehead="Ks_2mass" verbLevel="10"
      description="Flux density in 2MASS Ks (2.16 um); NULL if not measured"/>
    <column name="ks_2mass_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.K"
      tablehead="Ks_2mass_err" verbLevel="15"
      description="1-sigma error of the flux density in 2MASS Ks (2.16 um); NULL if not available"/>
    <column name="wise1" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.3-4um"
      tablehead="WISE1" verbLevel="10"
      description="Flux density in WISE W1 (3.4 um); NULL if not measured"/>
    <column name="wise1_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.3-4um"
      tablehead="WISE1_err" verbLevel="15"
      description="1-sigma error of the flux density in WISE W1 (3.4 um); NULL if not available"/>
    <column name="wise2" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.4-8um"
      tablehead="WISE2" verbLevel="10"
      description="Flux density in WISE W2 (4.6 um); NULL if not measured"/>
    <column name="wise2_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.4-8um"
      tablehead="WISE2_err" verbLevel="15"
      description="1-sigma error of the flux density in WISE W2 (4.6 um); NULL if not available"/>
    <column name="wise3" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.8-15um"
      tablehead="WISE3" verbLevel="10"
      description="Flux density in WISE W3 (12 um); NULL if not measured"/>
    <column name="wise3_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.8-15um"
      tablehead="WISE3_err" verbLevel="15"
      description="1-sigma error of the flux density in WISE W3 (12 um); NULL if not available"/>
    <column name="wise4" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.15-30um"
      tablehead="WISE4" verbLevel="10"
      description="Flux density in WISE W4 (22 um); NULL if not measured"/>
    <column name="wise4_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.15-30um"
      tablehead="WISE4_err" verbLevel="15"
      description="1-sigma error of the flux density in WISE W4 (22 um); NULL if not available"/>
    <column name="pacs_blue" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.60-100um"
      tablehead="PACS_blue" verbLevel="10"
      description="Flux density in Herschel PACS blue (70 um; empty for all H-ATLAS sources); NULL if not measured"/>
    <column name="pacs_blue_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.60-100um"
      tablehead="PACS_blue_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel PACS blue (70 um; empty for all H-ATLAS sources); NULL if not available"/>
    <column name="pacs_green" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.60-100um"
      tablehead="PACS_green" verbLevel="10"
      description="Flux density in Herschel PACS green (100 um); NULL if not measured"/>
    <column name="pacs_green_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.60-100um"
      tablehead="PACS_green_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel PACS green (100 um); NULL if not available"/>
    <column name="pacs_red" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.IR.FIR"
      tablehead="PACS_red" verbLevel="10"
      description="Flux density in Herschel PACS red (160 um); NULL if not measured"/>
    <column name="pacs_red_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.IR.FIR"
      tablehead="PACS_red_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel PACS red (160 um); NULL if not available"/>
    <column name="psw_hipe" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.mm.750-1500GHz"
      tablehead="PSW_HIPE" verbLevel="10"
      description="Flux density in Herschel SPIRE PSW (250 um, HIPE); NULL if not measured"/>
    <column name="psw_hipe_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.mm.750-1500GHz"
      tablehead="PSW_HIPE_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel SPIRE PSW (250 um, HIPE); NULL if not available"/>
    <column name="pmw_hipe" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.mm.750-1500GHz"
      tablehead="PMW_HIPE" verbLevel="10"
      description="Flux density in Herschel SPIRE PMW (350 um, HIPE); NULL if not measured"/>
    <column name="pmw_hipe_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.mm.750-1500GHz"
      tablehead="PMW_HIPE_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel SPIRE PMW (350 um, HIPE); NULL if not available"/>
    <column name="plw_hipe" type="double precision" unit="mJy"
      ucd="phot.flux.density;em.mm.400-750GHz"
      tablehead="PLW_HIPE" verbLevel="10"
      description="Flux density in Herschel SPIRE PLW (500 um, HIPE); NULL if not measured"/>
    <column name="plw_hipe_err" type="double precision" unit="mJy"
      ucd="stat.error;phot.flux.density;em.mm.400-750GHz"
      tablehead="PLW_HIPE_err" verbLevel="15"
      description="1-sigma error of the flux density in Herschel SPIRE PLW (500 um, HIPE); NULL if not available"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      tablehead="RA" verbLevel="1"
      description="SYNTHETIC right ascension (ICRS) for cross-match tests, not the position of the source: uniform inside the source's GAMA field, from a hash of id"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      tablehead="Dec" verbLevel="1"
      description="SYNTHETIC declination (ICRS) for cross-match tests, not the position of the source: uniform inside the source's GAMA field, from a hash of id"/>
  </table>

  <data id="import">
    <sources>data/hatlas_gama_fields.fits</sources>
    <fitsTableGrammar/>
    <make table="galaxies">
      <rowmaker idmaps="*">
        <!-- make_fits.py writes NaN for missing values; store them as SQL NULL -->
        <apply name="nan_to_null">
          <code>
            for key, val in list(vars.items()):
              if isinstance(val, float) and val != val:
                vars[key] = None
          </code>
        </apply>
        <map key="fuv" source="FUV"/>
        <map key="fuv_err" source="FUV_err"/>
        <map key="nuv" source="NUV"/>
        <map key="nuv_err" source="NUV_err"/>
        <map key="j_2mass" source="J_2mass"/>
        <map key="j_2mass_err" source="J_2mass_err"/>
        <map key="h_2mass" source="H_2mass"/>
        <map key="h_2mass_err" source="H_2mass_err"/>
        <map key="ks_2mass" source="Ks_2mass"/>
        <map key="ks_2mass_err" source="Ks_2mass_err"/>
        <map key="wise1" source="WISE1"/>
        <map key="wise1_err" source="WISE1_err"/>
        <map key="wise2" source="WISE2"/>
        <map key="wise2_err" source="WISE2_err"/>
        <map key="wise3" source="WISE3"/>
        <map key="wise3_err" source="WISE3_err"/>
        <map key="wise4" source="WISE4"/>
        <map key="wise4_err" source="WISE4_err"/>
        <map key="pacs_blue" source="PACS_blue"/>
        <map key="pacs_blue_err" source="PACS_blue_err"/>
        <map key="pacs_green" source="PACS_green"/>
        <map key="pacs_green_err" source="PACS_green_err"/>
        <map key="pacs_red" source="PACS_red"/>
        <map key="pacs_red_err" source="PACS_red_err"/>
        <map key="psw_hipe" source="PSW_HIPE"/>
        <map key="psw_hipe_err" source="PSW_HIPE_err"/>
        <map key="pmw_hipe" source="PMW_HIPE"/>
        <map key="pmw_hipe_err" source="PMW_HIPE_err"/>
        <map key="plw_hipe" source="PLW_HIPE"/>
        <map key="plw_hipe_err" source="PLW_HIPE_err"/>
      </rowmaker>
    </make>
  </data>
</resource>
