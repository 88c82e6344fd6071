// Names and VRs of the tags a chest radiograph usually carries, for the viewer's tag panel.
// Unknown tags are still listed, by number (private tags have no names anyway).
const ENTRIES = `
00020000 UL FileMetaInformationGroupLength
00020001 OB FileMetaInformationVersion
00020002 UI MediaStorageSOPClassUID
00020003 UI MediaStorageSOPInstanceUID
00020010 UI TransferSyntaxUID
00020012 UI ImplementationClassUID
00020013 SH ImplementationVersionName
00020016 AE SourceApplicationEntityTitle
00080005 CS SpecificCharacterSet
00080008 CS ImageType
00080012 DA InstanceCreationDate
00080013 TM InstanceCreationTime
00080016 UI SOPClassUID
00080018 UI SOPInstanceUID
00080020 DA StudyDate
00080021 DA SeriesDate
00080022 DA AcquisitionDate
00080023 DA ContentDate
00080030 TM StudyTime
00080031 TM SeriesTime
00080032 TM AcquisitionTime
00080033 TM ContentTime
00080050 SH AccessionNumber
00080060 CS Modality
00080064 CS ConversionType
00080068 CS PresentationIntentType
00080070 LO Manufacturer
00080080 LO InstitutionName
00080090 PN ReferringPhysicianName
00081010 SH StationName
00081030 LO StudyDescription
0008103E LO SeriesDescription
00081040 LO InstitutionalDepartmentName
00081090 LO ManufacturerModelName
00082111 ST DerivationDescription
00100010 PN PatientName
00100020 LO PatientID
00100030 DA PatientBirthDate
00100040 CS PatientSex
00101010 AS PatientAge
00180015 CS BodyPartExamined
00180050 DS SliceThickness
00180060 DS KVP
00181000 LO DeviceSerialNumber
00181004 LO PlateID
00181020 LO SoftwareVersions
00181030 LO ProtocolName
00181110 DS DistanceSourceToDetector
00181111 DS DistanceSourceToPatient
00181114 DS EstimatedRadiographicMagnificationFactor
00181150 IS ExposureTime
00181151 IS XRayTubeCurrent
00181152 IS Exposure
00181153 IS ExposureInuAs
00181160 SH FilterType
00181164 DS ImagerPixelSpacing
00181190 DS FocalSpots
00181400 LO AcquisitionDeviceProcessingDescription
00181401 LO AcquisitionDeviceProcessingCode
00181411 DS ExposureIndex
00181412 DS TargetExposureIndex
00181413 DS DeviationIndex
00185101 CS ViewPosition
00185100 CS PatientPosition
00186000 DS Sensitivity
00187004 CS DetectorType
0018700A SH DetectorID
00187060 CS ExposureControlMode
0020000D UI StudyInstanceUID
0020000E UI SeriesInstanceUID
00200010 SH StudyID
00200011 IS SeriesNumber
00200012 IS AcquisitionNumber
00200013 IS InstanceNumber
00200020 CS PatientOrientation
00200060 CS Laterality
00200062 CS ImageLaterality
00204000 LT ImageComments
00280002 US SamplesPerPixel
00280004 CS PhotometricInterpretation
00280006 US PlanarConfiguration
00280008 IS NumberOfFrames
00280010 US Rows
00280011 US Columns
00280030 DS PixelSpacing
00280034 IS PixelAspectRatio
00280100 US BitsAllocated
00280101 US BitsStored
00280102 US HighBit
00280103 US PixelRepresentation
00280106 US SmallestImagePixelValue
00280107 US LargestImagePixelValue
00280300 CS QualityControlImage
00280301 CS BurnedInAnnotation
00281040 CS PixelIntensityRelationship
00281041 SS PixelIntensityRelationshipSign
00281050 DS WindowCenter
00281051 DS WindowWidth
00281052 DS RescaleIntercept
00281053 DS RescaleSlope
00281054 LO RescaleType
00281055 LO WindowCenterWidthExplanation
00281056 CS VOILUTFunction
00282110 CS LossyImageCompression
00282112 DS LossyImageCompressionRatio
00282114 CS LossyImageCompressionMethod
00283000 SQ ModalityLUTSequence
00283002 US LUTDescriptor
00283003 LO LUTExplanation
00283006 US LUTData
00283010 SQ VOILUTSequence
00321060 LO RequestedProcedureDescription
00400244 DA PerformedProcedureStepStartDate
00400245 TM PerformedProcedureStepStartTime
00400253 SH PerformedProcedureStepID
00400254 LO PerformedProcedureStepDescription
00540220 SQ ViewCodeSequence
00080100 SH CodeValue
00080102 SH CodingSchemeDesignator
00080104 LO CodeMeaning
20500020 CS PresentationLUTShape
7FE00010 OW PixelData
FFFEE000 NONE Item
FFFEE00D NONE ItemDelimitationItem
FFFEE0DD NONE SequenceDelimitationItem
`

export interface TagEntry {
  vr: string
  name: string
}

export const DICOM_DICTIONARY: ReadonlyMap<string, TagEntry> = new Map(
  ENTRIES.trim()
    .split('\n')
    .map((line) => {
      const [tag, vr, name] = line.split(' ')
      return [tag.toUpperCase(), { vr, name }] as const
    })
)

/** `x00280010` (dicom-parser's key) → `(0028,0010)` */
export function formatTag(key: string): string {
  const hex = key.replace(/^x/, '').toUpperCase()
  return `(${hex.slice(0, 4)},${hex.slice(4)})`
}

export function lookupTag(key: string): TagEntry | undefined {
  return DICOM_DICTIONARY.get(key.replace(/^x/, '').toUpperCase())
}
