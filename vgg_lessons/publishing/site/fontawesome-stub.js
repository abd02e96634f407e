/* Written over pydata-sphinx-theme's _static/scripts/fontawesome.js (1.5 MB: Font
 * Awesome's SVG icon library, there "so that users can add custom icons"), which the book
 * does not need: the few icons its pages show are drawn from the theme's own Font Awesome
 * web fonts by vgg-lessons/book.css (vgg_lessons.publishing.site, at build-finished). */
