// Saves something the page made (a chart's PNG) through an <a download>: works in the browser and
// in Electron without a save dialog of our own, and needs no permission.
export function downloadUrl(url: string, fileName: string): void {
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  link.style.display = 'none'
  document.body.appendChild(link)
  link.click()
  link.remove()
}
